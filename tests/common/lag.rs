//! Secrets Manager's eventually consistent listings, reproduced in front of LocalStack.
//!
//! Also one rule of AWS's that LocalStack 4.10 lacks: a secret scheduled for deletion refuses new
//! values (`PutSecretValue` and `UpdateSecretVersionStage` answer `InvalidRequestException`, "marked for
//! deletion"); LocalStack accepts them. A `Lag` of zero gives that rule alone, with consistent listings.
//!
//! On AWS, `ListSecrets` and filtered `BatchGetSecretValue` "might not reflect changes from the last five
//! minutes"; LocalStack answers them at once. [`Lag`] is an SDK interceptor that every client of a test
//! shares: it records each change of a secret's existence or tags (create, tag, untag, delete, restore)
//! as it succeeds, and answers filtered listings from the state as it was `lag` ago: a secret created
//! since is missing, a tag changed since still shows its old value (and still matches a filter on it).
//! Reads by name (`GetSecretValue`, `DescribeSecret`, `BatchGetSecretValue` by id) go through untouched
//! and stay current, as on AWS. Only secrets created through a lagging client are known to it, so each
//! test gives it its own prefix.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_secretsmanager::operation::batch_get_secret_value::{
    BatchGetSecretValueInput, BatchGetSecretValueOutput,
};
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretInput;
use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretInput;
use aws_sdk_secretsmanager::operation::list_secrets::ListSecretsInput;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueInput;
use aws_sdk_secretsmanager::operation::restore_secret::RestoreSecretInput;
use aws_sdk_secretsmanager::operation::tag_resource::TagResourceInput;
use aws_sdk_secretsmanager::operation::untag_resource::UntagResourceInput;
use aws_sdk_secretsmanager::operation::update_secret_version_stage::UpdateSecretVersionStageInput;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::{Value, json};

type Tags = BTreeMap<String, String>;

/// One secret's history: (when, tags while live / `None` once deleted), oldest first.
#[derive(Default)]
struct History(Vec<(Instant, Option<Tags>)>);

impl History {
    fn latest(&self) -> Option<&Tags> {
        self.0.last().and_then(|(_, t)| t.as_ref())
    }

    fn at(&self, moment: Instant) -> Option<&Tags> {
        self.0
            .iter()
            .rev()
            .find(|(at, _)| *at <= moment)
            .and_then(|(_, t)| t.as_ref())
    }
}

/// Listings that lag `lag` behind the secrets' real state. Clone it into every client of the test.
#[derive(Clone)]
pub struct Lag {
    lag: Duration,
    secrets: Arc<Mutex<HashMap<String, History>>>,
    /// Filtered listings answered from the lagged state.
    lagged_answers: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Lag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lag").field("lag", &self.lag).finish()
    }
}

/// What one request will change, or how its listing is to be answered; kept between interceptor hooks.
#[derive(Debug, Clone)]
enum Pending {
    Change(Change),
    /// A filtered `ListSecrets`: its answer, computed when the request was made.
    List(Value),
    /// A filtered `BatchGetSecretValue`: the names it matches as of the lagged moment (one page), and
    /// the next page's offset.
    Batch(Vec<String>, Option<usize>),
    /// A write of a new value or stage to this secret.
    Write(String),
}

#[derive(Debug, Clone)]
enum Change {
    Create(String, Tags),
    Tag(String, Tags),
    Untag(String, Vec<String>),
    Delete(String),
    Restore(String),
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

const PAGE: usize = 20;

impl Lag {
    /// Listings that show the state as it was `lag` ago.
    pub fn new(lag: Duration) -> Self {
        Self {
            lag,
            secrets: Arc::default(),
            lagged_answers: Arc::default(),
        }
    }

    /// A LocalStack client whose filtered listings lag (a "process" of the fleet).
    pub async fn client(&self) -> aws_sdk_secretsmanager::Client {
        super::client_with(self.clone()).await
    }

    /// The same with `extra` added (a test's own interceptor).
    pub async fn client_with(
        &self,
        extra: impl Intercept + 'static,
    ) -> aws_sdk_secretsmanager::Client {
        let base = self.client().await;
        aws_sdk_secretsmanager::Client::from_conf(
            base.config().to_builder().interceptor(extra).build(),
        )
    }

    /// How many filtered listings were answered from the lagged state: tests assert the layer was in
    /// the path, so a scenario cannot pass by going around it.
    pub fn lagged_answers(&self) -> usize {
        self.lagged_answers
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    fn apply(&self, change: Change) {
        let now = Instant::now();
        let mut secrets = self.secrets.lock().unwrap();
        let (name, next) = match change {
            Change::Create(name, tags) => (name, Some(tags)),
            Change::Tag(name, tags) => {
                let mut next = secrets
                    .get(&name)
                    .and_then(History::latest)
                    .cloned()
                    .unwrap_or_default();
                next.extend(tags);
                (name, Some(next))
            }
            Change::Untag(name, keys) => {
                let mut next = secrets
                    .get(&name)
                    .and_then(History::latest)
                    .cloned()
                    .unwrap_or_default();
                for key in keys {
                    next.remove(&key);
                }
                (name, Some(next))
            }
            Change::Delete(name) => (name, None),
            Change::Restore(name) => {
                // Tags survive deletion: restoring brings back the last live tags.
                let tags = secrets
                    .get(&name)
                    .and_then(|h| h.0.iter().rev().find_map(|(_, t)| t.clone()));
                (name, Some(tags.unwrap_or_default()))
            }
        };
        secrets.entry(name).or_default().0.push((now, next));
    }

    /// Whether this layer saw the secret deleted (and not restored since).
    fn is_deleted(&self, name: &str) -> bool {
        self.secrets
            .lock()
            .unwrap()
            .get(name)
            .is_some_and(|h| h.latest().is_none())
    }

    /// Names (sorted) of the secrets that matched `filters` `lag` ago, with their tags then; only those
    /// still live now when `live_now` (a by-id fetch of a deleted secret is skipped by the store anyway).
    fn lagged_matches(&self, filters: &[Filter], live_now: bool) -> Vec<(String, Tags)> {
        let moment = Instant::now().checked_sub(self.lag);
        let secrets = self.secrets.lock().unwrap();
        let mut found: Vec<(String, Tags)> = secrets
            .iter()
            .filter(|(_, h)| !live_now || h.latest().is_some())
            .filter_map(|(name, h)| {
                let tags = moment.and_then(|m| h.at(m))?;
                matches(filters, name, tags).then(|| (name.clone(), tags.clone()))
            })
            .collect();
        found.sort();
        found
    }
}

/// The service's filter semantics: values within a filter OR'd, filters AND'd, prefix matching.
fn matches(filters: &[Filter], name: &str, tags: &Tags) -> bool {
    filters.iter().all(|filter| {
        filter.values().iter().any(|value| match filter.key() {
            Some(FilterNameStringType::Name) => name.starts_with(value.as_str()),
            Some(FilterNameStringType::TagKey) => {
                tags.keys().any(|k| k.starts_with(value.as_str()))
            }
            Some(FilterNameStringType::TagValue) => {
                tags.values().any(|v| v.starts_with(value.as_str()))
            }
            other => panic!("the lag layer does not model filter {other:?}"),
        })
    })
}

fn tag_map(tags: &[aws_sdk_secretsmanager::types::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn operation(cfg: &ConfigBag) -> Option<String> {
    cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
        .map(|m| m.name().to_owned())
}

impl Intercept for Lag {
    fn name(&self) -> &'static str {
        "Lag"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let named = |id: Option<&str>| id.unwrap_or_default().to_owned();
        let pending = match operation(cfg).as_deref() {
            Some("CreateSecret") => input.downcast_ref::<CreateSecretInput>().map(|i| {
                Pending::Change(Change::Create(named(i.name()), tag_map(i.tags())))
            }),
            Some("TagResource") => input.downcast_ref::<TagResourceInput>().map(|i| {
                Pending::Change(Change::Tag(named(i.secret_id()), tag_map(i.tags())))
            }),
            Some("UntagResource") => input.downcast_ref::<UntagResourceInput>().map(|i| {
                Pending::Change(Change::Untag(named(i.secret_id()), i.tag_keys().to_vec()))
            }),
            Some("DeleteSecret") => input
                .downcast_ref::<DeleteSecretInput>()
                .map(|i| Pending::Change(Change::Delete(named(i.secret_id())))),
            Some("RestoreSecret") => input
                .downcast_ref::<RestoreSecretInput>()
                .map(|i| Pending::Change(Change::Restore(named(i.secret_id())))),
            Some("PutSecretValue") => input
                .downcast_ref::<PutSecretValueInput>()
                .map(|i| Pending::Write(named(i.secret_id()))),
            Some("UpdateSecretVersionStage") => input
                .downcast_ref::<UpdateSecretVersionStageInput>()
                .map(|i| Pending::Write(named(i.secret_id()))),
            Some("ListSecrets") => input
                .downcast_ref::<ListSecretsInput>()
                .filter(|i| !i.filters().is_empty())
                .map(|i| {
                    let list: Vec<Value> = self
                        .lagged_matches(i.filters(), false)
                        .into_iter()
                        .map(|(name, tags)| {
                            json!({
                                "Name": name,
                                "ARN": format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-Lagged"),
                                "Tags": tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
                                "LastChangedDate": SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64(),
                            })
                        })
                        .collect();
                    Pending::List(json!({ "SecretList": list }))
                }),
            Some("BatchGetSecretValue") => input
                .downcast_ref::<BatchGetSecretValueInput>()
                .filter(|i| !i.filters().is_empty())
                .map(|i| {
                    let names: Vec<String> = self
                        .lagged_matches(i.filters(), true)
                        .into_iter()
                        .map(|(name, _)| name)
                        .collect();
                    let start: usize = i
                        .next_token()
                        .and_then(|t| t.strip_prefix("lag:"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let end = (start + PAGE).min(names.len());
                    let next = (end < names.len()).then_some(end);
                    Pending::Batch(names[start.min(end)..end].to_vec(), next)
                }),
            _ => None,
        };
        if let Some(pending) = pending {
            if matches!(pending, Pending::List(_) | Pending::Batch(..)) {
                self.lagged_answers
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            cfg.interceptor_state().store_put(pending);
        }
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A filtered batch becomes a batch by name over the lagged matches: values stay current.
        if let Some(Pending::Batch(names, _)) = cfg.load::<Pending>()
            && !names.is_empty()
        {
            let body = json!({ "SecretIdList": names }).to_string();
            let request = context.request_mut();
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let replace = |context: &mut BeforeDeserializationInterceptorContextMut<'_>,
                       body: Value| {
            let response = context.response_mut();
            *response.status_mut() = 200.try_into().unwrap();
            *response.body_mut() = SdkBody::from(body.to_string());
        };
        match cfg.load::<Pending>() {
            // AWS refuses a new value for a secret scheduled for deletion (checked when the answer
            // comes, so a deletion made while the request was on its way counts, as on the service).
            Some(Pending::Write(name))
                if context.response().status().is_success() && self.is_deleted(name) =>
            {
                let response = context.response_mut();
                *response.status_mut() = 400.try_into().unwrap();
                response
                    .headers_mut()
                    .insert("x-amzn-errortype", "InvalidRequestException");
                *response.body_mut() = SdkBody::from(
                    json!({
                        "__type": "InvalidRequestException",
                        "message": "You can't perform this operation on the secret because it was marked for deletion.",
                    })
                    .to_string(),
                );
            }
            Some(Pending::List(answer)) => replace(context, answer.clone()),
            // Nothing matched then: the real (current) answer must not show through.
            Some(Pending::Batch(names, _)) if names.is_empty() => {
                replace(context, json!({ "SecretValues": [], "Errors": [] }));
            }
            _ => {}
        }
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // More lagged matches than one page: point the caller at the next one.
        if let Some(Pending::Batch(_, Some(next))) = cfg.load::<Pending>()
            && let Some(Ok(output)) = context.output_or_error_mut()
            && let Some(output) = output.downcast_mut::<BatchGetSecretValueOutput>()
        {
            output.next_token = Some(format!("lag:{next}"));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Pending::Change(change)) = cfg.load::<Pending>().cloned()
            && matches!(context.output_or_error(), Some(Ok(_)))
        {
            self.apply(change);
        }
        Ok(())
    }
}
