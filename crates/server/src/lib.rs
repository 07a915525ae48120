//! The HTTP face of the scoring service: Segment-compatible ingestion under `/v1/`, the REST
//! API under `/api/v1/`, `/openapi.json`, `/healthz` and `/metrics`. Handlers only translate
//! between the wire and [`leadscore_app::Service`]; no scoring happens here.
//!
//! Build the router, then serve it on a listener you bound (tests bind port 0):
//!
//! ```no_run
//! # async fn run(svc: leadscore_app::Service) -> std::io::Result<()> {
//! let app = leadscore_server::router(svc, &leadscore_server::ServerSettings::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! leadscore_server::serve(listener, app, std::future::pending()).await
//! # }
//! ```
//!
//! Module map: [`segment`] parses the Segment JSON shapes; `api` holds the handlers and wire
//! types; [`error`] gives every error its status, code and JSON body.

mod api;
pub mod error;
pub mod segment;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use leadscore_app::Service;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tower_http::decompression::RequestDecompressionLayer;

/// Server limits.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest request body after decompression (bytes); larger gets 413.
    pub body_limit: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            body_limit: 4 << 20,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub svc: Service,
    pub metrics: PrometheusHandle,
}

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("static buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (a test harness); ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The whole HTTP application.
pub fn router(svc: Service, settings: &ServerSettings) -> Router {
    let state = AppState {
        svc,
        metrics: metrics_handle(),
    };
    let ingest = Router::new()
        .route("/v1/batch", post(api::batch))
        .route("/v1/import", post(api::batch))
        .route("/v1/identify", post(api::identify))
        .route("/v1/track", post(api::track))
        .route("/v1/page", post(api::page))
        .route("/v1/screen", post(api::screen))
        .route("/v1/group", post(api::group))
        .route("/v1/alias", post(api::alias));
    let rest = Router::new()
        .route("/api/v1/leads", get(api::list_leads))
        .route("/api/v1/leads/{id}", get(api::get_lead))
        .route("/api/v1/accounts", get(api::list_accounts))
        .route("/api/v1/accounts/{id}", get(api::get_account))
        .route("/api/v1/stats", get(api::stats))
        .route("/api/v1/model", get(api::get_model).put(api::put_model))
        .route("/api/v1/model/validate", post(api::validate_model))
        .route("/api/v1/model/history", get(api::model_history))
        .route("/api/v1/model/activate", post(api::activate_model))
        .route("/api/v1/model/rollback", post(api::rollback_model))
        .route(
            "/api/v1/model/challenger",
            get(api::get_challenger)
                .post(api::set_challenger)
                .delete(api::delete_challenger),
        )
        .route("/api/v1/model/drift", get(api::get_drift))
        .route("/api/v1/model/evaluation", get(api::get_evaluation))
        .route("/api/v1/model/learned", get(api::get_learned))
        .route("/api/v1/model/retrain", post(api::retrain))
        .route("/api/v1/rescore", post(api::rescore))
        .route("/api/v1/jobs", get(api::jobs))
        .route("/api/v1/jobs/{id}", get(api::job))
        .route(
            "/api/v1/webhooks",
            get(api::list_webhooks).post(api::create_webhook),
        )
        .route(
            "/api/v1/webhooks/{id}",
            axum::routing::delete(api::delete_webhook),
        )
        .route("/api/v1/webhooks/deliveries", get(api::deliveries))
        .route("/api/v1/webhooks/outbox", get(api::outbox))
        .route("/api/v1/import", post(api::import))
        .route("/api/v1/outcomes", post(api::record_outcomes));
    Router::new()
        .merge(ingest)
        .merge(rest)
        .route("/openapi.json", get(api::openapi))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(RequestDecompressionLayer::new())
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The OpenAPI document of the API, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    api::ApiDoc::openapi()
}
