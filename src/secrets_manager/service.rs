//! One method per Secrets Manager call.
//!
//! Each sends one request (or pages through one listing) and maps the service's answers (absent, in its
//! recovery window, another store's) to what the store acts on.

use std::time::SystemTime;

use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry, Tag};
use futures::{StreamExt, TryStreamExt, stream};

use super::{CreateOutcome, Raw, RecoveryWindow, SecretsManagerStore, State};
use super::{index, lease};
use crate::aws::error as aws_error;
use crate::aws::versions;
use crate::error::Result;
use crate::id;

/// `BatchGetSecretValue` returns at most 20 values per call.
const BATCH_GET_MAX: i32 = 20;
/// `ListSecrets` returns at most 100 secrets per call.
const LIST_MAX: i32 = 100;

/// A secret as `ListSecrets` describes it.
pub(crate) struct Listed {
    pub(crate) name: String,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) last_changed: Option<SystemTime>,
    /// Whether a version is staged `AWSPENDING` (a Secrets Manager rotation under way).
    pub(crate) pending: bool,
}

impl SecretsManagerStore {
    pub(crate) fn filter(
        key: FilterNameStringType,
        values: impl IntoIterator<Item = String>,
    ) -> Filter {
        values
            .into_iter()
            .fold(Filter::builder().key(key), |b, v| b.values(v))
            .build()
    }

    pub(super) fn prefix_filter(&self) -> Filter {
        Self::filter(FilterNameStringType::Name, [self.prefix.clone()])
    }

    /// One secret's raw value by name, or `None` when absent or scheduled for deletion.
    pub(crate) async fn read_raw(&self, name: &str) -> Result<Option<Raw>> {
        self.read_raw_at(name, None).await
    }

    /// The raw value of one secret's version staged `stage`, or `None` when the secret or the stage is
    /// gone.
    pub(crate) async fn read_raw_stage(&self, name: &str, stage: &str) -> Result<Option<Raw>> {
        self.read_raw_at(name, Some(stage)).await
    }

    async fn read_raw_at(&self, name: &str, stage: Option<&str>) -> Result<Option<Raw>> {
        match self
            .client
            .get_secret_value()
            .secret_id(name)
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
        {
            Ok(out) => Ok(Some(Raw::new(
                name,
                out.version_id(),
                out.secret_string(),
                out.secret_binary(),
            ))),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(None)
            }
            Err(e) => Err(aws_error::backend("GetSecretValue", e)),
        }
    }

    /// The names of this store's token secrets the listing shows in their recovery window: listed only
    /// when asked for (`IncludePlannedDeletion`), and their values cannot be read until they are
    /// restored.
    /// Also the names it shows live: it lags, so one of them may be in its recovery window by now.
    pub(crate) async fn names_in_recovery_window(
        &self,
    ) -> Result<(
        std::collections::BTreeSet<String>,
        std::collections::BTreeSet<String>,
    )> {
        Ok(self
            .list_every(vec![self.prefix_filter()], true)
            .await?
            .iter()
            .filter(|s| s.name().is_some_and(|n| self.id_of(n).is_some()))
            .filter(|s| self.claims(&tag_pairs(s.tags())))
            .filter_map(|s| s.name().map(|n| (n.to_owned(), s.deleted_date().is_some())))
            .fold(
                Default::default(),
                |(mut deleted, mut live), (name, gone)| {
                    if gone { &mut deleted } else { &mut live }.insert(name);
                    (deleted, live)
                },
            ))
    }

    pub(super) async fn describe(&self, name: &str) -> Result<State> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => {
                let tags = tag_pairs(out.tags());
                Ok(if out.deleted_date().is_some() {
                    State::Deleted(tags)
                } else {
                    State::Live(tags)
                })
            }
            Err(e) if aws_error::is_not_found(&e) => Ok(State::Absent),
            Err(e) => Err(aws_error::backend("DescribeSecret", e)),
        }
    }

    /// When a live secret last changed (its value or its tags); `None` when it is gone or scheduled for
    /// deletion, or the service does not say.
    pub(super) async fn changed_at(&self, name: &str) -> Result<Option<SystemTime>> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) if out.deleted_date().is_some() => Ok(None),
            Ok(out) => Ok(out
                .last_changed_date()
                .and_then(|d| SystemTime::try_from(*d).ok())),
            Err(e) if aws_error::is_not_found(&e) => Ok(None),
            Err(e) => Err(aws_error::backend("DescribeSecret", e)),
        }
    }

    /// A live secret's tags and the version holding `AWSCURRENT`; `None` when it is gone or scheduled
    /// for deletion.
    pub(crate) async fn describe_current(
        &self,
        name: &str,
    ) -> Result<Option<(Vec<(String, String)>, Option<String>)>> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) if out.deleted_date().is_some() => Ok(None),
            Ok(out) => Ok(Some((
                tag_pairs(out.tags()),
                versions::current_version(out.version_ids_to_stages()),
            ))),
            Err(e) if aws_error::is_not_found(&e) => Ok(None),
            Err(e) => Err(aws_error::backend("DescribeSecret", e)),
        }
    }

    pub(super) async fn create(
        &self,
        name: &str,
        value: String,
        tags: &[(String, String)],
    ) -> Result<CreateOutcome> {
        let request = self
            .client
            .create_secret()
            .name(name)
            .client_request_token(versions::request_token(name, &value))
            .secret_string(value)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ));
        match request.send().await {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) if aws_error::code(&e) == Some("ResourceExistsException") => {
                Ok(CreateOutcome::Exists)
            }
            Err(e) if aws_error::is_scheduled_for_deletion(&e) => Ok(CreateOutcome::Exists),
            Err(e) => Err(aws_error::backend("CreateSecret", e)),
        }
    }

    /// Writes a new current version; `false` when the secret is gone or in its recovery window (a
    /// cached state was stale, or another process deleted it meanwhile).
    pub(super) async fn put(&self, name: &str, value: String) -> Result<bool> {
        let sent = self
            .client
            .put_secret_value()
            .secret_id(name)
            .client_request_token(versions::request_token(name, &value))
            .secret_string(value)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(false)
            }
            Err(e) => Err(aws_error::backend("PutSecretValue", e)),
        }
    }

    /// Cancels the deletion of a secret in its recovery window; `false` when it was deleted for good
    /// meanwhile.
    pub(super) async fn restore(&self, name: &str) -> Result<bool> {
        match self.client.restore_secret().secret_id(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if aws_error::is_not_found(&e) => Ok(false),
            Err(e) => Err(aws_error::backend("RestoreSecret", e)),
        }
    }

    /// Sets tags on the secret `name`.
    pub(super) async fn tag(&self, name: &str, tags: Vec<(String, String)>) -> Result<()> {
        let tags = tags
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .tag_resource()
            .secret_id(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error::backend("TagResource", e))?;
        Ok(())
    }

    /// Removes the tags with these keys from the secret `name`.
    pub(super) async fn untag(&self, name: &str, keys: Vec<String>) -> Result<()> {
        self.client
            .untag_resource()
            .secret_id(name)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| aws_error::backend("UntagResource", e))?;
        Ok(())
    }

    /// Deletes the secret `name`; whether it was live (false when it was absent or already in its
    /// recovery window).
    pub(super) async fn delete_name(&self, name: &str) -> Result<bool> {
        let request = self.client.delete_secret().secret_id(name);
        let request = match self.recovery_window {
            RecoveryWindow::Days(days) => request.recovery_window_in_days(i64::from(days)),
            RecoveryWindow::Immediate => request.force_delete_without_recovery(true),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            // Already gone, or already scheduled: deleting is idempotent.
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(false)
            }
            Err(e) => Err(aws_error::backend("DeleteSecret", e)),
        }
    }

    /// Deletes a secret that holds no token (a lease, a bridge) at once; absent is fine.
    pub(crate) async fn force_delete(&self, name: &str) -> Result<()> {
        match self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(())
            }
            Err(e) => Err(aws_error::backend("DeleteSecret", e)),
        }
    }

    /// One page of live secrets matching `filters`, at most `max` of them, and the token of the next
    /// page (the service may answer a short or empty page and still have more): one `ListSecrets`.
    pub(super) async fn list_page(
        &self,
        filters: Vec<Filter>,
        max: i32,
        next: Option<String>,
        include_deleted: bool,
    ) -> Result<(Vec<SecretListEntry>, Option<String>)> {
        let out = self
            .client
            .list_secrets()
            .include_planned_deletion(include_deleted)
            .set_filters(Some(filters))
            .max_results(max)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| aws_error::backend("ListSecrets", e))?;
        let next = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok((out.secret_list().to_vec(), next))
    }

    /// Every live secret matching `filters`, 100 per `ListSecrets` call.
    pub(super) async fn list_all(&self, filters: Vec<Filter>) -> Result<Vec<SecretListEntry>> {
        self.list_every(filters, false).await
    }

    /// Every secret matching `filters`, page by page; those in their recovery window too when asked.
    async fn list_every(
        &self,
        filters: Vec<Filter>,
        include_deleted: bool,
    ) -> Result<Vec<SecretListEntry>> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let (page, token) = self
                .list_page(filters.clone(), LIST_MAX, next.take(), include_deleted)
                .await?;
            found.extend(page);
            match token {
                Some(token) => next = Some(token),
                None => return Ok(found),
            }
        }
    }

    /// Live secrets matching `filters` that may be this store's (under the prefix, with a valid id, not
    /// tagged as another store's), with their tags.
    pub(super) async fn list(&self, filters: Vec<Filter>) -> Result<Vec<Listed>> {
        Ok(self
            .list_all(filters)
            .await?
            .iter()
            .filter_map(|secret| {
                let name = secret.name().filter(|name| self.id_of(name).is_some())?;
                let tags = tag_pairs(secret.tags());
                if !self.claims(&tags) {
                    return None;
                }
                let pending = secret.secret_versions_to_stages().is_some_and(|versions| {
                    versions
                        .values()
                        .any(|stages| stages.iter().any(|s| s == "AWSPENDING"))
                });
                Some(Listed {
                    pending,
                    name: name.to_owned(),
                    tags,
                    last_changed: secret
                        .last_changed_date()
                        .and_then(|d| SystemTime::try_from(*d).ok()),
                })
            })
            .collect())
    }

    /// Every secret under the prefix that may be a token of this store, as `ListSecrets` shows it.
    pub(crate) async fn list_tokens(&self) -> Result<Vec<Listed>> {
        self.list(vec![self.prefix_filter()]).await
    }

    /// This store's own secrets (carrying the marker tag), with their tags.
    pub(crate) async fn list_owned(&self) -> Result<Vec<Listed>> {
        let filters = vec![
            self.prefix_filter(),
            Self::filter(FilterNameStringType::TagKey, [index::MARKER_KEY.to_owned()]),
        ];
        let mut owned = self.list(filters).await?;
        let marker = (index::MARKER_KEY.to_owned(), index::MARKER_VALUE.to_owned());
        owned.retain(|listed| listed.tags.contains(&marker));
        Ok(owned)
    }

    /// Every raw value under the prefix (what `get_tokens`, key usage and re-encryption read): the names
    /// from `ListSecrets`, 100 per call, then the token values by name, 20 per call. A prefix-filtered
    /// batch would also fetch the value of every lease and lookup bridge under the prefix, only to
    /// discard it.
    pub(crate) async fn all_raw(&self) -> Result<Vec<Raw>> {
        self.fetch_listed(&self.list_tokens().await?).await
    }

    pub(super) async fn fetch_listed(&self, listed: &[Listed]) -> Result<Vec<Raw>> {
        let names: Vec<String> = listed.iter().map(|l| l.name.clone()).collect();
        self.fetch(&names).await
    }

    /// The values of the secrets `names`, 20 per `BatchGetSecretValue`; those gone meanwhile are skipped.
    pub(super) async fn fetch(&self, names: &[String]) -> Result<Vec<Raw>> {
        let pages: Vec<Vec<Raw>> =
            stream::iter(names.chunks(BATCH_GET_MAX as usize).map(<[String]>::to_vec))
                .map(|chunk| async move {
                    let out = self
                        .client
                        .batch_get_secret_value()
                        .set_secret_id_list(Some(chunk))
                        .send()
                        .await
                        .map_err(|e| aws_error::backend("BatchGetSecretValue", e))?;
                    self.collect_page(&out)
                })
                .buffered(self.concurrency.get())
                .try_collect()
                .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// Every value matching `filters`, 20 per call, skipping secrets in their recovery window.
    pub(super) async fn batch_get(&self, filters: Vec<Filter>) -> Result<Vec<Raw>> {
        if let Some(raws) = self.batch_get_filtered(&filters).await? {
            return Ok(raws);
        }
        // Some backends (LocalStack 4.10) fail a whole filtered batch when one match is in its recovery
        // window, instead of reporting it in Errors[] as AWS documents. ListSecrets hides such secrets, so
        // list the matches and fetch them by name: more calls, only while deleted secrets match.
        let names: Vec<String> = self
            .list(filters)
            .await?
            .into_iter()
            .map(|listed| listed.name)
            .collect();
        self.fetch(&names).await
    }

    /// The filtered batch, page by page; `None` when the backend refused it over a deleted secret.
    pub(super) async fn batch_get_filtered(&self, filters: &[Filter]) -> Result<Option<Vec<Raw>>> {
        let mut raws = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = match self
                .client
                .batch_get_secret_value()
                .set_filters(Some(filters.to_vec()))
                .max_results(BATCH_GET_MAX)
                .set_next_token(next.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if aws_error::is_scheduled_for_deletion(&e) => return Ok(None),
                Err(e) => return Err(aws_error::backend("BatchGetSecretValue", e)),
            };
            raws.extend(self.collect_page(&out)?);
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(Some(raws)),
            }
        }
    }

    /// The values in one `BatchGetSecretValue` answer. Secrets that vanished or sit in their recovery
    /// window are skipped; a transient per-secret failure fails the call (a retry may bring it); a
    /// lasting one (access denied, a KMS key that cannot decrypt) is a value that cannot be read, named
    /// when it is decoded, as one that is not an envelope is.
    pub(super) fn collect_page(&self, out: &BatchGetSecretValueOutput) -> Result<Vec<Raw>> {
        let mut unavailable = Vec::new();
        for failure in out.errors() {
            let failure = aws_error::BatchEntryError {
                secret: failure.secret_id().unwrap_or("?").to_owned(),
                code: failure.error_code().unwrap_or("?").to_owned(),
                message: failure.message().unwrap_or_default().to_owned(),
            };
            if failure.is_gone() {
                continue;
            }
            if failure.is_transient() {
                return Err(failure.into_error());
            }
            let name = crate::aws::secret_name_of(&failure.secret).to_owned();
            // A nested prefix's secret is another store's, not ours.
            if self.id_of(&name).is_some() {
                unavailable.push(Raw::unavailable(&name, failure.into_unavailable()));
            }
        }
        let values: Result<Vec<Raw>> = out
            .secret_values()
            .iter()
            .filter_map(|entry| entry.name().map(|name| (name, entry)))
            // A nested prefix's secret is another store's, not ours.
            .filter(|(name, _)| self.id_of(name).is_some())
            .map(|(name, e)| {
                Ok(Raw::new(
                    name,
                    e.version_id(),
                    e.secret_string(),
                    e.secret_binary(),
                ))
            })
            .collect();
        let mut values = values?;
        values.extend(unavailable);
        Ok(values)
    }

    /// Deletes this store's secrets under the nested prefix `dir` (leases, lookup bridges) created at or
    /// before `cutoff`, without recovery (they hold no token). Returns how many went.
    pub(crate) async fn delete_nested(&self, dir: &str, cutoff: SystemTime) -> Result<usize> {
        let nested = format!("{}{dir}", self.prefix);
        let old: Vec<String> = self
            .list_all(vec![Self::filter(
                FilterNameStringType::Name,
                [nested.clone()],
            )])
            .await?
            .iter()
            .filter(|secret| {
                secret
                    .created_date()
                    .and_then(|d| SystemTime::try_from(*d).ok())
                    .is_none_or(|created| created <= cutoff)
            })
            // Only what this store made: one level below `dir`, not tagged as another store's (a store
            // whose prefix extends ours may keep its own secrets under this name prefix).
            .filter(|secret| self.claims(&tag_pairs(secret.tags())))
            .filter_map(|secret| {
                secret.name().filter(|n| {
                    n.strip_prefix(&nested).is_some_and(|rest| {
                        id::validate(rest).is_ok() || (dir == lease::DIR && lease::is_link(rest))
                    })
                })
            })
            .map(str::to_owned)
            .collect();
        let count = old.len();
        stream::iter(old)
            .map(|name| async move { self.force_delete(&name).await })
            .buffer_unordered(self.concurrency.get())
            .try_collect::<Vec<()>>()
            .await?;
        Ok(count)
    }
}

pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}
