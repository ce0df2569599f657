// Whole-node simulation, CI budget: 5 members, seeds 1001–1050 (see simulation-suite.ts).
import { describe } from 'vitest';
import { simulationSuite } from './simulation-suite.js';

describe('whole-node simulation, 5 members', () => {
  simulationSuite({ from: 1001, runs: 50, nodes: 5 });
});
