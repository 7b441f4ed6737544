//! Counting service calls: the cost that matters for this store.
//!
//! Every request the store sends is an AWS round trip with latency, a price and a quota, so the store
//! counts them per operation with an SDK interceptor (one count per HTTP attempt, retries included).
//! Tests assert budgets with it, and benchmarks report it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Service calls made so far, by operation name (`GetSecretValue`, `CreateSecret`, ...).
///
/// Cloning shares the counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl CallCounter {
    /// Counts by operation.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Calls made to `operation`.
    pub fn count(&self, operation: &str) -> u64 {
        self.lock().get(operation).copied().unwrap_or(0)
    }

    /// Calls made to every operation.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.lock().clear();
    }

    /// An interceptor that records into this counter: add it to any SDK client's config to count that
    /// client's calls the same way the store counts its own.
    pub fn interceptor(&self) -> impl Intercept + 'static {
        CountingInterceptor(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // Counts stay meaningful even if a holder panicked mid-increment.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct CountingInterceptor(CallCounter);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "zoho_token_store::CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            *self.0.lock().entry(meta.name().to_owned()).or_default() += 1;
        }
        Ok(())
    }
}
