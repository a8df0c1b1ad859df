// Typed errors of the object-encryption format. Every error carries a stable `code` a caller can switch on
// (the gateway maps codes to S3 errors) and a message that says what went wrong — never key material.

export class SSEError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The package stream is not authentic: a bad tag, a foreign or reordered package, a malformed header, bytes after the end. */
export class ErrTampered extends SSEError {
  constructor(message: string, code = 'Tampered') {
    super(code, message);
  }
}

/**
 * The data ended before the stream did (no final package, or fewer bytes than a requested range needs).
 * A subclass of ErrTampered: a cut-off object is a modified object, so `instanceof ErrTampered` catches both.
 */
export class ErrTruncated extends ErrTampered {
  constructor(message: string) {
    super(message, 'Truncated');
  }
}

/** A sealed object key did not authenticate: wrong external key (SSE-C), wrong path, domain or IV, or a modified seal. */
export class ErrKeyMismatch extends SSEError {
  constructor(message = 'the sealed object key does not authenticate under this key, path, domain and IV') {
    super('KeyMismatch', message);
  }
}

/** A size that no plaintext or package stream can have (negative, fractional, or an impossible encrypted length). */
export class ErrInvalidSize extends SSEError {
  constructor(message: string) {
    super('InvalidSize', message);
  }
}

/** A range that cannot be served. `size` is the object's plaintext size, for `Content-Range: bytes *\/size`. */
export class ErrInvalidRange extends SSEError {
  readonly size: number | undefined;
  constructor(message: string, size?: number) {
    super('InvalidRange', message);
    this.size = size;
  }
}

/** A part number outside 1..(number of parts) — S3 answers InvalidPartNumber (416). */
export class ErrInvalidPartNumber extends SSEError {
  constructor(message: string) {
    super('InvalidPartNumber', message);
  }
}

/** A key, nonce or IV of the wrong length, or an unknown option value. A programming error of the caller. */
export class ErrInvalidArgument extends SSEError {
  constructor(message: string) {
    super('InvalidArgument', message);
  }
}
