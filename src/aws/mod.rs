//! What every part of the crate that calls AWS shares: classifying its failures, and writing secret
//! versions idempotently and by compare-and-swap (the store, its leases, the keyring secret and the
//! rotation handler all do).

pub(crate) mod error;
pub(crate) mod versions;
