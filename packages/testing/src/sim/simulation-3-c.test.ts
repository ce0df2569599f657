// Whole-node simulation, CI budget: 3 members, seeds 101–150 (see simulation-suite.ts).
import { describe } from 'vitest';
import { simulationSuite } from './simulation-suite.js';

describe('whole-node simulation, 3 members', () => {
  simulationSuite({ from: 101, runs: 50, nodes: 3 });
});
