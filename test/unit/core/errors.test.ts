import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodedError, FieldError, describingSystemErrors } from '../../../src/core/errors.ts';

describe('describingSystemErrors', () => {
  it('names the step of an operating-system error, keeping its code and cause', async () => {
    const missing = path.join(os.tmpdir(), 'agdr-no-such-dir', 'x');
    const err = await describingSystemErrors('opening the log at /data/log', () =>
      fs.readFile(missing),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodedError);
    expect((err as CodedError).code).toBe('ENOENT');
    expect((err as Error).message).toMatch(
      /^opening the log at \/data\/log: ENOENT: no such file or directory, open '.*agdr-no-such-dir/,
    );
    expect(((err as Error).cause as NodeJS.ErrnoException).syscall).toBe('open');
  });

  it('passes typed errors and other throws through unchanged, and returns the value', async () => {
    const typed = new FieldError('bad', '$.x', 'wrong');
    await expect(describingSystemErrors('step', () => Promise.reject(typed))).rejects.toBe(typed);
    const plain = new Error('plain');
    await expect(describingSystemErrors('step', () => Promise.reject(plain))).rejects.toBe(plain);
    await expect(describingSystemErrors('step', () => Promise.resolve(7))).resolves.toBe(7);
  });
});
