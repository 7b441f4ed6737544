//! Classifying Secrets Manager failures: which mean "absent", which are transient.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::error::Error;
use crate::fix::Fix;

/// Error codes that mean "slow down" (AWS API reference, common errors).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Error codes that mean "try again later", besides throttling.
const TRANSIENT_CODES: &[&str] = &[
    "InternalServiceError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// The service's error code, for service errors.
pub(crate) fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

pub(crate) fn is_not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    code(err) == Some("ResourceNotFoundException")
}

/// The secret exists but is scheduled for deletion: the service answers `InvalidRequestException` with
/// a message about deletion (API_GetSecretValue, API_CreateSecret, API_DeleteSecret; "marked for
/// deletion" on AWS, "marked deleted" on LocalStack).
pub(crate) fn is_scheduled_for_deletion<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .is_some_and(|e| is_deletion_message(e.code(), e.message()))
}

fn is_deletion_message(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidRequestException") && message.is_some_and(|m| m.contains("delet"))
}

/// Wraps an SDK failure as [`Error::Backend`], deciding whether it is worth retrying (a connection
/// that failed or timed out, a throttling code, any 5xx answer) and saying in one line what went wrong
/// and how to fix it. A request that could not even be sent (no region, no credentials, a malformed
/// endpoint) is configuration, never retryable.
pub(crate) fn backend<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let throttled = code(&err).is_some_and(|c| THROTTLING_CODES.contains(&c));
    let mut fix = None;
    let (retryable, reason) = match &err {
        SdkError::TimeoutError(_) => (true, "the service did not answer in time".to_owned()),
        SdkError::DispatchFailure(f) if f.is_io() || f.is_timeout() => {
            fix = Some(Fix::Endpoint);
            (true, "could not connect to the service".to_owned())
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            let (reason, needs) = configuration(&err);
            fix = needs;
            (false, reason)
        }
        SdkError::ResponseError(_) => (
            true,
            "the service's answer was cut off or malformed".to_owned(),
        ),
        SdkError::ServiceError(e) => {
            let status = e.raw().status();
            let reason = match (e.err().code(), e.err().message()) {
                // An answer with no AWS error in it: something else is listening there.
                (None, None) => {
                    fix = Some(Fix::Endpoint);
                    format!(
                        "the endpoint answered HTTP {} with no AWS error in it, so it is not AWS \
                         Secrets Manager (or LocalStack)",
                        status.as_u16()
                    )
                }
                (code, message) => {
                    let code = code.unwrap_or("error");
                    let said = one_line(message.unwrap_or("no message"));
                    match fix_for(code) {
                        Some(fix) => format!("{code}: {said}; {fix}"),
                        None => format!("{code}: {said}"),
                    }
                }
            };
            (
                throttled
                    || status.is_server_error()
                    || e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c)),
                reason,
            )
        }
        _ => (false, "the AWS SDK failed unexpectedly".to_owned()),
    };
    Error::Backend {
        operation,
        retryable,
        throttled,
        reason,
        fix,
        source: std::sync::Arc::new(err),
    }
}

/// What to do about an AWS error code a caller can fix, in words; none for the store's own cases (they
/// are handled where they arise) and the codes that explain themselves.
fn fix_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDeniedException" => {
            "this caller lacks an IAM permission on the store's secrets: see the README's minimal IAM \
             policy"
        }
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature" => {
            "AWS rejected the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             AWS_PROFILE, or the role, and the clock"
        }
        "ExpiredTokenException" | "ExpiredToken" => {
            "the session credentials expired: renew them (or let the role refresh them)"
        }
        "LimitExceededException" => {
            "an AWS quota was reached (100 versions of one secret in 24 hours, or the account's \
             secrets): see the README's \"Running a fleet\""
        }
        _ if THROTTLING_CODES.contains(&code) => {
            "AWS is throttling this account's Secrets Manager calls: retry later, or spread the load"
        }
        _ => return None,
    })
}

/// What is wrong with the configuration when a request could not be sent, and the fix when it depends on
/// the caller's API. The SDK's own messages name the problem but can carry the whole request (body
/// included), so they are matched, never shown.
fn configuration(err: &dyn StdError) -> (String, Option<Fix>) {
    let mut chain = String::new();
    let mut next: Option<&dyn StdError> = Some(err);
    while let Some(e) = next {
        chain += &e.to_string().to_ascii_lowercase();
        chain.push('\n');
        next = e.source();
    }
    let reason = if chain.contains("region") {
        return ("no AWS region is configured".to_owned(), Some(Fix::Region));
    } else if chain.contains("credential") {
        "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, \
         or run with an IAM role"
    } else if chain.contains("endpoint") {
        "the endpoint is not a URL: set AWS_ENDPOINT_URL to one such as http://127.0.0.1:4566, or unset \
         it"
    } else {
        "the request could not be sent: check the AWS configuration (region, credentials, endpoint)"
    };
    (reason.to_owned(), None)
}

/// A service message on one line, shortened.
fn one_line(message: &str) -> String {
    message
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A per-secret failure reported inside a successful `BatchGetSecretValue` response (`Errors[]`).
#[derive(Debug)]
pub(crate) struct BatchEntryError {
    pub(crate) secret: String,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl fmt::Display for BatchEntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "secret `{}`: {}: {}",
            self.secret, self.code, self.message
        )
    }
}

impl StdError for BatchEntryError {}

impl BatchEntryError {
    /// The secret vanished or is in its recovery window since it was matched: not an error for a read.
    pub(crate) fn is_gone(&self) -> bool {
        self.code == "ResourceNotFoundException"
            || is_deletion_message(Some(&self.code), Some(&self.message))
    }

    /// Whether retrying the batch may bring the value (throttling, a transient service failure).
    pub(crate) fn is_transient(&self) -> bool {
        THROTTLING_CODES.contains(&self.code.as_str())
            || TRANSIENT_CODES.contains(&self.code.as_str())
    }

    /// A failure that stays: this one secret cannot be read, by this caller, until someone changes a
    /// policy or a key. Named as [`Error::SecretUnavailable`], so whole-store jobs isolate it.
    pub(crate) fn into_unavailable(self) -> Error {
        let fix = match self.code.as_str() {
            "AccessDeniedException" => {
                "grant this caller secretsmanager:GetSecretValue on it (and kms:Decrypt on its KMS key), \
                 or move it out of the store's prefix"
            }
            "DecryptionFailure" => {
                "its KMS key is disabled, pending deletion, or not usable by this caller: enable the key or \
                 grant kms:Decrypt"
            }
            _ => "see the AWS error code; the rest of the store was read",
        };
        Error::SecretUnavailable {
            secret: super::secret_name_of(&self.secret).to_owned(),
            code: self.code,
            fix: fix.to_owned(),
        }
    }

    pub(crate) fn into_error(self) -> Error {
        let throttled = THROTTLING_CODES.contains(&self.code.as_str());
        let retryable = throttled || TRANSIENT_CODES.contains(&self.code.as_str());
        Error::Backend {
            operation: "BatchGetSecretValue",
            retryable,
            throttled,
            reason: format!(
                "secret `{}`: {}: {}",
                self.secret,
                self.code,
                one_line(&self.message)
            ),
            fix: None,
            source: std::sync::Arc::new(self),
        }
    }
}
