// Part 1 of the bundled runbooks run with their rehearsal answers and verified (bundled-rehearsals.ts).
import { rehearseBundledPart } from './bundled-rehearsals.ts';

rehearseBundledPart(1);
