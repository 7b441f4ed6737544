//! Counting service calls: the cost that matters for this store.
//!
//! Every request the store sends is an AWS round trip with latency, a price and a quota, so the store
//! counts them per operation with an SDK interceptor. A *call* is one operation the store asked for; the
//! SDK may send it more than once (throttling, 5xx, timeouts), and those extra *retries* are counted
//! apart. Budgets are about calls, which the store decides; retries are the network's doing, so a budget
//! test on a loaded machine asserts calls and can report retries without failing on them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Service calls made so far, by operation name (`GetSecretValue`, `CreateSecret`, ...), with the
/// SDK's retries of them counted apart.
///
/// Cloning shares the counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<Counts>>);

#[derive(Debug, Default)]
struct Counts {
    /// Operations started, once each however often the SDK sent them.
    calls: BTreeMap<String, u64>,
    /// Attempts sent (the first one and every retry).
    attempts: BTreeMap<String, u64>,
}

impl CallCounter {
    /// Calls by operation (retries not included).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().calls.clone()
    }

    /// Calls made to `operation`, each counted once however often the SDK retried it.
    pub fn count(&self, operation: &str) -> u64 {
        self.lock().calls.get(operation).copied().unwrap_or(0)
    }

    /// Calls made to every operation (retries not included).
    pub fn total(&self) -> u64 {
        self.lock().calls.values().sum()
    }

    /// How many times the SDK re-sent `operation` after a failed attempt (throttling, 5xx, timeouts).
    pub fn retries(&self, operation: &str) -> u64 {
        let counts = self.lock();
        let attempts = counts.attempts.get(operation).copied().unwrap_or(0);
        attempts.saturating_sub(counts.calls.get(operation).copied().unwrap_or(0))
    }

    /// Retries of every operation.
    pub fn total_retries(&self) -> u64 {
        let counts = self.lock();
        let attempts: u64 = counts.attempts.values().sum();
        attempts.saturating_sub(counts.calls.values().sum())
    }

    /// Forgets every count.
    pub fn reset(&self) {
        let mut counts = self.lock();
        counts.calls.clear();
        counts.attempts.clear();
    }

    /// An interceptor that records into this counter: add it to any SDK client's config to count that
    /// client's calls the same way the store counts its own.
    pub fn interceptor(&self) -> impl Intercept + 'static {
        CountingInterceptor(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counts stay meaningful even if a holder panicked mid-increment.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, cfg: &ConfigBag, pick: fn(&mut Counts) -> &mut BTreeMap<String, u64>) {
        if let Some(meta) = cfg.load::<Metadata>() {
            *pick(&mut self.lock())
                .entry(meta.name().to_owned())
                .or_default() += 1;
        }
    }
}

#[derive(Debug)]
struct CountingInterceptor(CallCounter);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "zoho_token_store::CallCounter"
    }

    // Once per operation, before the SDK's retry loop (and after the operation's own configuration,
    // which carries its name, is applied: `read_before_execution` runs too early for that).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.record(cfg, |c| &mut c.calls);
        Ok(())
    }

    // Once per attempt, inside the retry loop.
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.record(cfg, |c| &mut c.attempts);
        Ok(())
    }
}
