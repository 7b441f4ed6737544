//! Classifying Secrets Manager failures: which mean "absent", which are transient.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::error::Error;

/// Error codes that mean "try again later" (AWS API reference, common errors).
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
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

/// Wraps an SDK failure as [`Error::Backend`], deciding whether it is worth retrying: transport
/// failures, throttling codes, and any 5xx answer are transient.
pub(crate) fn backend<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            e.raw().status().is_server_error()
                || e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        _ => false,
    };
    Error::Backend {
        operation,
        retryable,
        source: std::sync::Arc::new(err),
    }
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

    pub(crate) fn into_error(self) -> Error {
        let retryable = TRANSIENT_CODES.contains(&self.code.as_str());
        Error::Backend {
            operation: "BatchGetSecretValue",
            retryable,
            source: std::sync::Arc::new(self),
        }
    }
}
