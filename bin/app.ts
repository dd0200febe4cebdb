#!/usr/bin/env node
/** The CDK app (`cdk.json` runs it with tsx). Environments live in cdk.json's `environments` context. */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.js';

buildApp(new App(), {
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_DEFAULT_REGION,
});
