import { InMemoryLedger } from '../../sim/memory-ledger.js';
import { describeLedgerContract } from '../support/ledger-contract.js';

describeLedgerContract('InMemoryLedger', async (now) => {
  const ledger = new InMemoryLedger({ now });
  return { ledger, dump: async () => JSON.stringify(ledger.dump()) };
});
