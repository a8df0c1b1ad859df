import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x } from '../src/index.js';
test('smoke', () => { assert.equal(x, 'sse'); });
