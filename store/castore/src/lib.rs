//! Content-addressed blobs and directories keyed by BLAKE3.
