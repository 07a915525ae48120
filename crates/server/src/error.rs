//! One place that gives every error its HTTP status, a stable code and a JSON body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadscore_app::AppError;
use serde_json::{Value, json};

/// An error answered as `{"error": {"code", "message", …details}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What a person reads.
    pub message: String,
    /// Extra fields (index, field, diagnostics…).
    pub details: Value,
    /// Seconds to wait before retrying (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    /// 400 naming the message and field at fault.
    pub fn invalid(index: usize, field: &str, message: &str) -> ApiError {
        ApiError {
            details: json!({ "index": index, "field": field }),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_message",
                format!("batch[{index}].{field}: {message}"),
            )
        }
    }

    /// 401.
    pub fn unauthorized(what: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", what)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let msg = e.to_string();
        match e {
            AppError::Invalid {
                index,
                field,
                message,
            } => ApiError::invalid(index, &field, &message),
            AppError::BadRequest(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", msg),
            AppError::File {
                file, line, field, ..
            } => ApiError {
                details: json!({ "file": file, "line": line, "field": field }),
                ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_file", msg)
            },
            AppError::Model(m) => ApiError {
                details: json!({
                    "diagnostics": m.diagnostics.iter().map(|d| json!({
                        "line": d.line, "column": d.column, "message": d.message,
                    })).collect::<Vec<_>>()
                }),
                ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_model", msg)
            },
            AppError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", msg),
            AppError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            AppError::Busy(_) => ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", msg)
            },
            AppError::Unavailable(_) | AppError::Store(leadscore_store::StoreError::Db(_)) => {
                ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", msg)
                }
            }
            AppError::Store(_) | AppError::Learn(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", msg)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let (Value::Object(b), Value::Object(d)) = (&mut body, self.details) {
            b.extend(d);
        }
        let mut r = (self.status, axum::Json(json!({ "error": body }))).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"leadscore\""),
            );
        }
        r
    }
}
