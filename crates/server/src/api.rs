//! Handlers and wire types. Each handler authenticates, parses, calls the service and shapes
//! the answer; nothing else.

use crate::AppState;
use crate::error::ApiError;
use crate::segment;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use leadscore_app::message::{Call, Message};
use leadscore_app::{AppError, IngestReport, Space};
use leadscore_store::{Cursor, KeyKind, LeadFilter, LeadSort};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "leadscore",
        description = "Lead scoring service: Segment-compatible ingestion and the scores API."
    ),
    paths(
        batch,
        identify,
        track,
        page,
        screen,
        group,
        alias,
        list_leads,
        get_lead,
        list_accounts,
        get_account,
        stats,
        get_model,
        put_model,
        validate_model,
        model_history,
        activate_model,
        rollback_model,
        set_challenger,
        delete_challenger,
        get_challenger,
        get_drift,
        get_evaluation,
        get_learned,
        retrain,
        rescore,
        jobs,
        job,
        list_webhooks,
        create_webhook,
        delete_webhook,
        deliveries,
        outbox,
        import,
        record_outcomes,
        healthz,
        metrics
    ),
    components(schemas(
        IngestResponse,
        OutcomesResponse,
        ErrorBody,
        LeadSummary,
        LeadPage,
        StatsBody
    ))
)]
pub(crate) struct ApiDoc;

/// Answer to an accepted batch.
#[derive(Serialize, ToSchema)]
pub(crate) struct IngestResponse {
    /// Always true on 200.
    success: bool,
    /// Messages stored now.
    accepted: usize,
    /// Messages whose messageId was stored before.
    duplicates: usize,
    /// Contacts whose score, tier or status changed (0 for outcomes).
    rescored: usize,
}

/// Answer to an accepted batch of outcomes.
#[derive(Serialize, ToSchema)]
pub(crate) struct OutcomesResponse {
    /// Always true on 200.
    success: bool,
    /// Outcomes stored now.
    accepted: usize,
    /// Outcomes whose id was stored before.
    duplicates: usize,
}

/// Every error: `{"error": {"code": "...", "message": "...", ...}}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// `{code, message}` plus details such as `index` and `field`.
    #[schema(value_type = Object)]
    error: Value,
}

/// A lead in a list.
#[derive(Serialize, ToSchema)]
pub(crate) struct LeadSummary {
    id: String,
    account_id: Option<String>,
    score: f64,
    tier: String,
    grade: Option<String>,
    priority: Option<String>,
    status: String,
    segment: String,
    /// The top reasons: `{rule, label, points}`.
    #[schema(value_type = Vec<Object>)]
    reasons: Vec<leadscore_store::Reason>,
    /// The last interesting moment.
    #[schema(value_type = Option<Object>)]
    last_interesting_moment: Option<Value>,
    events: i64,
    updated_at: String,
    scored_at: String,
    model_version: i64,
    /// Calibrated probability by the workspace's latest learned model (`null` before the
    /// first retrain).
    probability: Option<f64>,
}

/// A page of leads.
#[derive(Serialize, ToSchema)]
pub(crate) struct LeadPage {
    leads: Vec<LeadSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// Counts of a workspace.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatsBody {
    contacts: i64,
    accounts: i64,
    /// Raw messages kept.
    events: i64,
    model_version: i64,
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn summary(c: &leadscore_store::ContactRecord, probability: Option<f64>) -> LeadSummary {
    LeadSummary {
        probability,
        id: c.id.clone(),
        account_id: c.account_id.clone(),
        score: c.score.score,
        tier: c.score.tier.clone(),
        grade: c.score.grade.clone(),
        priority: c.score.priority.clone(),
        status: c.score.status.clone(),
        segment: c.score.segment.clone(),
        reasons: c.score.reasons.clone(),
        last_interesting_moment: c.score.moment.clone(),
        events: c.events,
        updated_at: time_text(c.updated_at),
        scored_at: time_text(c.score.scored_at),
        model_version: c.score.model_version,
    }
}

// ---- authentication ----------------------------------------------------------------------

fn basic_user(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    Some(s.split_once(':').map_or(s.clone(), |(u, _)| u.to_owned()))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(|s| s.trim().to_owned())
}

async fn write_space(
    st: &AppState,
    headers: &HeaderMap,
    body: Option<&Value>,
) -> Result<Arc<Space>, ApiError> {
    // Segment clients send the write key as the Basic user name; some put it in the body.
    let key = basic_user(headers).or_else(|| {
        body.and_then(|b| b.get("writeKey"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let Some(key) = key else {
        return Err(ApiError::unauthorized(
            "a write key is required (HTTP Basic auth, the key as user name)",
        ));
    };
    st.svc
        .authenticate(&key, KeyKind::Write)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown write key"))
}

async fn read_space(st: &AppState, headers: &HeaderMap) -> Result<Arc<Space>, ApiError> {
    let Some(key) = bearer(headers).or_else(|| basic_user(headers)) else {
        return Err(ApiError::unauthorized(
            "a read key is required (Authorization: Bearer <read key>)",
        ));
    };
    st.svc
        .authenticate(&key, KeyKind::Read)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown read key"))
}

// ---- ingestion -----------------------------------------------------------------------------

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server accepts; send smaller batches",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
        }
    })
}

fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError {
        details: json!({ "line": e.line(), "column": e.column() }),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )
    })
}

async fn ingest(
    st: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    call: Option<Call>,
) -> Result<Json<IngestResponse>, ApiError> {
    let early = if headers.contains_key(header::AUTHORIZATION) {
        Some(write_space(st, headers, None).await?)
    } else {
        None
    };
    let bytes = body_bytes(body)?;
    let v = json_body(&bytes)?;
    let space = match early {
        Some(s) => s,
        None => write_space(st, headers, Some(&v)).await?,
    };
    let now = st.svc.now_ms();
    let messages: Vec<Message> = match call {
        None => segment::parse_batch(&v, now),
        Some(c) => segment::parse_single(&v, c, now).map(|m| vec![m]),
    }
    .map_err(|e| ApiError::invalid(e.index, &e.field, &e.message))?;
    let r: IngestReport = st.svc.ingest(&space, messages).await?;
    Ok(Json(IngestResponse {
        success: true,
        accepted: r.accepted,
        duplicates: r.duplicates,
        rescored: r.rescored,
    }))
}

macro_rules! ingest_route {
    ($name:ident, $path:literal, $call:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "ingest",
                            request_body(content = Object, description = "A Segment message"),
                            responses(
                                (status = 200, body = IngestResponse),
                                (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                                (status = 413, body = ErrorBody), (status = 429, body = ErrorBody),
                                (status = 503, body = ErrorBody)
                            ),
                            security(("write_key" = [])))]
        pub(crate) async fn $name(
            State(st): State<AppState>,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Json<IngestResponse>, ApiError> {
            ingest(&st, &headers, body, $call).await
        }
    };
}

ingest_route!(
    batch,
    "/v1/batch",
    None,
    "Many messages at once (`{\"batch\": [...]}`), accepted or refused whole."
);
ingest_route!(
    identify,
    "/v1/identify",
    Some(Call::Identify),
    "Who a contact is: traits become attributes."
);
ingest_route!(
    track,
    "/v1/track",
    Some(Call::Track),
    "What a contact did: `event` is the event type."
);
ingest_route!(
    page,
    "/v1/page",
    Some(Call::Page),
    "A page view (event type `page_view`)."
);
ingest_route!(
    screen,
    "/v1/screen",
    Some(Call::Screen),
    "A screen view (event type `screen_view`)."
);
ingest_route!(
    group,
    "/v1/group",
    Some(Call::Group),
    "A contact's account, with the account's traits."
);
ingest_route!(
    alias,
    "/v1/alias",
    Some(Call::Alias),
    "Links an earlier id (`previousId`) to `userId`."
);

// ---- leads and accounts --------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
pub(crate) struct LeadQuery {
    tier: Option<String>,
    grade: Option<String>,
    segment: Option<String>,
    status: Option<String>,
    account_id: Option<String>,
    min_score: Option<f64>,
    max_score: Option<f64>,
    /// RFC 3339 time.
    updated_since: Option<String>,
    /// `score` (best first, default), `score_asc`, `updated`, `id`, `probability` (highest
    /// predicted probability first, leads without one last).
    sort: Option<String>,
    /// 1–1000, default 50.
    limit: Option<i64>,
    cursor: Option<String>,
}

fn encode_cursor(c: &Cursor) -> String {
    let v = match c {
        Cursor::Score(s, id) => json!(["s", s, id]),
        Cursor::Int(t, id) => json!(["t", t, id]),
        Cursor::Id(id) => json!(["i", id]),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_cursor(s: &str) -> Option<Cursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    let a = v.as_array()?;
    match a.first()?.as_str()? {
        "s" => Some(Cursor::Score(
            a.get(1)?.as_f64()?,
            a.get(2)?.as_str()?.to_owned(),
        )),
        "t" => Some(Cursor::Int(
            a.get(1)?.as_i64()?,
            a.get(2)?.as_str()?.to_owned(),
        )),
        "i" => Some(Cursor::Id(a.get(1)?.as_str()?.to_owned())),
        _ => None,
    }
}

fn bad(field: &str, msg: impl std::fmt::Display) -> ApiError {
    ApiError {
        details: json!({ "field": field }),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{field}: {msg}"),
        )
    }
}

/// Lists leads with filters, a sort and cursor pagination.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(LeadQuery),
    responses((status = 200, body = LeadPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("read_key" = [])))]
pub(crate) async fn list_leads(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<LeadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LeadPage>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let Query(q) = q.map_err(|e| bad("query", e.body_text()))?;
    let sort = match q.sort.as_deref() {
        None | Some("score") | Some("-score") => LeadSort::ScoreDesc,
        Some("+score") | Some("score_asc") => LeadSort::ScoreAsc,
        Some("updated") | Some("-updated") => LeadSort::UpdatedDesc,
        Some("id") => LeadSort::Id,
        Some("probability") | Some("-probability") => LeadSort::ProbabilityDesc,
        Some(o) => {
            return Err(bad(
                "sort",
                format!("unknown sort `{o}` (score, score_asc, updated, id, probability)"),
            ));
        }
    };
    let updated_since = match &q.updated_since {
        Some(t) => Some(
            segment::parse_timestamp(t)
                .ok_or_else(|| bad("updated_since", format!("`{t}` is not an RFC 3339 time")))?,
        ),
        None => None,
    };
    let after = match &q.cursor {
        Some(c) => {
            Some(decode_cursor(c).ok_or_else(|| bad("cursor", "not a cursor from this API"))?)
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", "must be between 1 and 1000"));
    }
    let f = LeadFilter {
        tier: q.tier,
        grade: q.grade,
        segment: q.segment,
        status: q.status,
        account_id: q.account_id,
        min_score: q.min_score,
        max_score: q.max_score,
        updated_since,
        sort,
        after,
        limit,
    };
    let rows = st
        .svc
        .store()
        .list_contacts(&space.id, &f)
        .await
        .map_err(AppError::from)?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|(c, p)| {
            encode_cursor(&match sort {
                LeadSort::ScoreDesc | LeadSort::ScoreAsc => {
                    Cursor::Score(c.score.score, c.id.clone())
                }
                LeadSort::UpdatedDesc => Cursor::Int(c.updated_at, c.id.clone()),
                LeadSort::Id => Cursor::Id(c.id.clone()),
                LeadSort::ProbabilityDesc => Cursor::Score(p.unwrap_or(-1.0), c.id.clone()),
            })
        });
    Ok(Json(LeadPage {
        leads: rows.iter().map(|(c, p)| summary(c, *p)).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct AsOfQuery {
    /// Recompute the score as it was at this time (RFC 3339 or YYYY-MM-DD).
    as_of: Option<String>,
}

/// One lead: score, tier, grade, status, every rule that fired, attributes, score history and
/// recent events, and `prediction` (calibrated `probability` and top `factors` by the latest
/// learned model, or null). With `as_of`, the score is recomputed as it was then (the
/// prediction is the latest one).
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = String, Path), AsOfQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)),
    security(("read_key" = [])))]
pub(crate) async fn get_lead(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let as_of = match &q.as_of {
        Some(t) => Some(
            segment::parse_timestamp(t)
                .ok_or_else(|| bad("as_of", format!("`{t}` is not an RFC 3339 time")))?
                .div_euclid(1000),
        ),
        None => None,
    };
    let lead = st.svc.lead(&space, &id, as_of).await?;
    let prediction = st.svc.prediction(&space, &id).await?;
    let s = &lead.scored;
    let reasons: Vec<Value> = s
        .contributions
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    let recent: Vec<Value> = lead
        .recent
        .iter()
        .map(|e| {
            let m = &e.event;
            json!({
                "seq": e.seq, "message_id": m.message_id, "type": m.kind, "event": m.event,
                "timestamp": time_text(m.ts), "received_at": time_text(m.received_at),
                "properties": serde_json::from_str::<Value>(&m.props).unwrap_or(Value::Null),
            })
        })
        .collect();
    let record = lead.record.as_ref();
    Ok(Json(json!({
        "id": id,
        "account_id": s.account_id,
        "score": s.score,
        "tier": s.tier,
        "grade": s.grade,
        "priority": s.priority,
        "status": s.status.as_str(),
        "segment": s.segment,
        "sales_ready": s.sales_ready,
        "as_of": s.as_of.to_string(),
        "model": { "version": lead.model_version, "name": s.model.name, "model_version": s.model.version, "hash": s.model.hash },
        "reasons": reasons,
        "top_reasons": s.top_reasons(),
        "categories": s.categories,
        "scores": s.scores,
        "disqualified_by": s.disqualified_by,
        "last_interesting_moment": s.last_interesting_moment,
        "attributes": record.map(|r| Value::Object(r.traits.clone())),
        "stored": record.map(|r| summary(r, prediction.as_ref().map(|p| p.probability))),
        "prediction": prediction.as_ref().map(|p| json!({
            "probability": p.probability, "factors": p.factors, "model_version": p.model_version,
            "predicted_at": time_text(p.predicted_at),
        })),
        "history": lead.history.iter().map(|h| json!({
            "at": time_text(h.at), "old_score": h.old_score, "new_score": h.new_score,
            "old_tier": h.old_tier, "new_tier": h.new_tier, "old_status": h.old_status,
            "new_status": h.new_status, "cause": h.cause, "model_version": h.model_version,
        })).collect::<Vec<_>>(),
        "recent_events": recent,
        "outcomes": lead.outcomes.iter().map(|o| json!({
            "id": o.message_id, "kind": o.kind, "stage": o.stage, "amount": o.amount,
            "reason": o.reason, "timestamp": time_text(o.at), "received_at": time_text(o.received_at),
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Lists accounts by rolled-up score, best first.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(PageQuery),
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn list_accounts(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let after = match &q.cursor {
        Some(c) => match decode_cursor(c) {
            Some(Cursor::Score(s, id)) => Some((s, id)),
            _ => return Err(bad("cursor", "not a cursor from this API")),
        },
        None => None,
    };
    let rows = st
        .svc
        .store()
        .list_accounts(&space.id, after, limit)
        .await
        .map_err(AppError::from)?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|a| encode_cursor(&Cursor::Score(a.score.unwrap_or(-1e300), a.id.clone())));
    Ok(Json(json!({ "accounts": rows, "next_cursor": next })))
}

/// One account with its contacts (best first).
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn get_account(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let store = st.svc.store();
    let acc = store
        .account(&space.id, &id)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::NotFound(format!("account `{id}`")))?;
    let contacts = store
        .list_contacts(
            &space.id,
            &LeadFilter {
                account_id: Some(id.clone()),
                limit: 200,
                ..LeadFilter::default()
            },
        )
        .await
        .map_err(AppError::from)?;
    let mut v = serde_json::to_value(&acc).unwrap_or(Value::Null);
    v["contacts_list"] = json!(
        contacts
            .iter()
            .map(|(c, p)| summary(c, *p))
            .collect::<Vec<_>>()
    );
    Ok(Json(v))
}

/// Counts of contacts, accounts and raw events.
#[utoipa::path(get, path = "/api/v1/stats", tag = "leads",
    responses((status = 200, body = StatsBody)), security(("read_key" = [])))]
pub(crate) async fn stats(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<StatsBody>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let s = st
        .svc
        .store()
        .stats(&space.id)
        .await
        .map_err(AppError::from)?;
    Ok(Json(StatsBody {
        contacts: s.contacts,
        accounts: s.accounts,
        events: s.events,
        model_version: space.active().version,
    }))
}

// ---- models ----------------------------------------------------------------------------------

fn model_json(r: &leadscore_store::ModelRecord, with_source: bool) -> Value {
    let mut v = json!({
        "version": r.version, "name": r.name, "model_version": r.model_version, "hash": r.hash,
        "created_at": time_text(r.created_at), "author": r.author, "note": r.note,
    });
    if with_source {
        v["source"] = json!(r.source);
    }
    v
}

/// The active model, with its TOML source.
#[utoipa::path(get, path = "/api/v1/model", tag = "model",
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn get_model(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let a = space.active();
    let mut v = model_json(&a.record, true);
    v["description"] = json!(a.model.describe());
    Ok(Json(v))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct PutModelQuery {
    /// Activate it now (default true); false only stores and validates.
    activate: Option<bool>,
    /// Who made the change (changelog).
    author: Option<String>,
    /// Why (changelog).
    note: Option<String>,
}

/// Uploads a model file (TOML body): validated, stored as the next version, and (by default)
/// activated, which re-scores the workspace in the background (see `/api/v1/jobs/{id}`).
#[utoipa::path(put, path = "/api/v1/model", tag = "model", params(PutModelQuery),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn put_model(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PutModelQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let bytes = body_bytes(body)?;
    let src = std::str::from_utf8(&bytes)
        .map_err(|_| bad("body", "the model file must be UTF-8 text"))?;
    let author = q.author.as_deref().unwrap_or("api");
    let note = q.note.as_deref().unwrap_or("");
    let rec = st.svc.upload_model(&space, src, author, note).await?;
    let mut v = json!({ "model": model_json(&rec, false), "activated": false });
    if q.activate.unwrap_or(true) && rec.version != space.active().version {
        let job = st.svc.activate(&space, rec.version, author, note).await?;
        v["activated"] = json!(true);
        v["job"] = json!(job);
    }
    Ok(Json(v))
}

/// Checks a model file without storing it: every problem with its line and column.
#[utoipa::path(post, path = "/api/v1/model/validate", tag = "model",
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn validate_model(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    read_space(&st, &headers).await?;
    let bytes = body_bytes(body)?;
    let src = std::str::from_utf8(&bytes)
        .map_err(|_| bad("body", "the model file must be UTF-8 text"))?;
    let m = st.svc.validate_model(src)?;
    let r = m.reference();
    Ok(Json(json!({
        "valid": true, "name": r.name, "model_version": r.version, "hash": r.hash,
        "description": m.describe(),
    })))
}

/// Every stored version and every activation (the changelog), newest first.
#[utoipa::path(get, path = "/api/v1/model/history", tag = "model",
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn model_history(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let store = st.svc.store();
    let models = store.models(&space.id).await.map_err(AppError::from)?;
    let acts = store.activations(&space.id).await.map_err(AppError::from)?;
    Ok(Json(json!({
        "active": space.active().version,
        "versions": models.iter().map(|m| model_json(m, false)).collect::<Vec<_>>(),
        "activations": acts.iter().map(|a| json!({
            "version": a.version, "activated_at": time_text(a.activated_at), "author": a.author, "note": a.note,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ActivateBody {
    version: i64,
    author: Option<String>,
    note: Option<String>,
}

/// Activates a stored version; the workspace is re-scored in the background.
#[utoipa::path(post, path = "/api/v1/model/activate", tag = "model", request_body = ActivateBody,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn activate_model(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ActivateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let Json(b) = body.map_err(|e| bad("body", e.body_text()))?;
    let job = st
        .svc
        .activate(
            &space,
            b.version,
            b.author.as_deref().unwrap_or("api"),
            b.note.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(json!({ "activated": b.version, "job": job })))
}

#[derive(Deserialize, ToSchema, Default)]
pub(crate) struct RollbackBody {
    author: Option<String>,
    note: Option<String>,
}

/// Activates the version active before the current one.
#[utoipa::path(post, path = "/api/v1/model/rollback", tag = "model",
    responses((status = 200, body = Object), (status = 409, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn rollback_model(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Option<Json<RollbackBody>>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let job = st
        .svc
        .rollback(
            &space,
            b.author.as_deref().unwrap_or("api"),
            b.note.as_deref().unwrap_or("rollback"),
        )
        .await?;
    Ok(Json(
        json!({ "activated": space.active().version, "job": job }),
    ))
}

/// Re-scores every contact now (as the daily schedule does), in the background.
#[utoipa::path(post, path = "/api/v1/rescore", tag = "model",
    responses((status = 202, body = Object)), security(("read_key" = [])))]
pub(crate) async fn rescore(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let space = read_space(&st, &headers).await?;
    let svc = st.svc.clone();
    tokio::spawn(async move {
        if let Err(e) = svc.rescore_all(&space, "manual").await {
            tracing::warn!("manual re-score: {e}");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(json!({ "started": true }))).into_response())
}

/// Background jobs (re-scores and challenger back-fills) with their progress, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "model",
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn jobs(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let jobs = st
        .svc
        .store()
        .jobs(&space.id, 50)
        .await
        .map_err(AppError::from)?;
    Ok(Json(json!({ "jobs": jobs })))
}

/// One background job: `kind` (`rescore`, `backfill`), `cause`, `total`, `done`, `state`
/// (running, done, failed, interrupted, cancelled).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "model", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn job(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let jobs = st
        .svc
        .store()
        .jobs(&space.id, 1000)
        .await
        .map_err(AppError::from)?;
    let j = jobs
        .into_iter()
        .find(|j| j.id == id)
        .ok_or_else(|| AppError::NotFound(format!("job {id}")))?;
    Ok(Json(json!(j)))
}

// ---- champion/challenger and drift -----------------------------------------------------------

#[derive(Deserialize, ToSchema)]
pub(crate) struct ChallengerBody {
    /// A stored model version.
    version: i64,
}

/// Sets the challenger: a stored version the writer scores every touched contact with too, in
/// shadow (never routed on), for comparison on outcomes. Every existing contact is scored with
/// it by a background job (`job`; progress at `/api/v1/jobs/{id}`, kind `backfill`), which
/// leaves stored scores, history and webhooks alone.
#[utoipa::path(post, path = "/api/v1/model/challenger", tag = "model", request_body = ChallengerBody,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn set_challenger(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ChallengerBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let Json(b) = body.map_err(|e| bad("body", e.body_text()))?;
    let (rec, job) = st.svc.set_challenger(&space, b.version).await?;
    Ok(Json(
        json!({ "challenger": model_json(&rec, false), "job": job }),
    ))
}

/// Removes the challenger.
#[utoipa::path(delete, path = "/api/v1/model/challenger", tag = "model",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn delete_challenger(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let v = st.svc.remove_challenger(&space).await?;
    Ok(Json(json!({ "removed": v })))
}

/// The active model (champion) against the challenger on the contacts with a won/lost outcome
/// that both scored: count, ROC-AUC, share qualified, precision and recall of `qualified`, and
/// the tier transitions champion → challenger.
#[utoipa::path(get, path = "/api/v1/model/challenger", tag = "model",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn get_challenger(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let c = st.svc.challenger_report(&space).await?;
    Ok(Json(json!(c)))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct DriftQuery {
    /// Largest absolute move of a tier's conversion rate from the baseline (default 0.1).
    tolerance: Option<f64>,
    /// Fewest contacts with an outcome for a tier to count (default 20).
    min_n: Option<usize>,
}

/// Conversion per tier (contacts with a won/lost outcome) against the active version's
/// baseline, recorded when its activation re-score finished (or by the first call): `alert`
/// when a tier with enough contacts moved more than the tolerance; `baseline` says when
/// (`recorded_at`), by what (`source`) and from how many contacts (`contacts`, `won`) it was
/// recorded. An empty baseline (no outcome then) is recorded again by the next full re-score.
#[utoipa::path(get, path = "/api/v1/model/drift", tag = "model", params(DriftQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn get_drift(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DriftQuery>,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let d = st
        .svc
        .drift_report(&space, q.tolerance.unwrap_or(0.1), q.min_n.unwrap_or(20))
        .await?;
    Ok(Json(json!(d)))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct EvaluationQuery {
    /// The model version (default: the active one).
    version: Option<i64>,
    /// Another version scored on the same contacts at the same times: `against` in the report
    /// (its ROC-AUC, and this version's less it with a 95% interval and p-value, DeLong
    /// paired).
    against: Option<i64>,
    /// The label: `won` (default: a won outcome) or `converted` (won or an opportunity
    /// created).
    target: Option<String>,
    /// The time of the evaluation (RFC 3339 or YYYY-MM-DD; default now): outcomes after it
    /// do not count, and contacts without an outcome by then are scored as of then.
    as_of: Option<String>,
    /// Only contacts first seen before this time (RFC 3339 or YYYY-MM-DD): leads that have
    /// had time to convert.
    created_before: Option<String>,
    /// `json` (default) or `html`: the report as one self-contained page with charts.
    format: Option<String>,
}

/// The closed loop on this workspace's own pipeline: a model version (default: the active
/// one) evaluated on every contact, each scored as it would have scored just before its first
/// outcome (from its messages before then), or as of now without one; label `won` or
/// `converted`. The same report as `leadscore evaluate` on a file: ROC-AUC with its 95%
/// interval, PR-AUC, log-loss, Brier, ECE, reliability, and per decile, tier and grade the
/// conversion, lift, deals won and lost with the win rate, revenue (the amounts of `won`
/// outcomes: total, share, cumulative share, revenue per contact against the average) and
/// median days from the first message to the conversion; per segment when the model has
/// several. 409 until some contacts have a positive outcome and some not.
#[utoipa::path(get, path = "/api/v1/model/evaluation", tag = "model", params(EvaluationQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("read_key" = [])))]
pub(crate) async fn get_evaluation(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EvaluationQuery>,
) -> Result<Response, ApiError> {
    let space = read_space(&st, &headers).await?;
    let html = match q.format.as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(f) => return Err(bad("format", format!("`{f}` is not `json` or `html`"))),
    };
    let target = match q.target.as_deref() {
        None => leadscore_app::training::Target::Won,
        Some(t) => leadscore_app::training::Target::parse(t)
            .ok_or_else(|| bad("target", format!("`{t}` is not `won` or `converted`")))?,
    };
    let time = |name: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| {
                segment::parse_timestamp(t).ok_or_else(|| {
                    bad(
                        name,
                        format!("`{t}` is not an RFC 3339 time or a YYYY-MM-DD date"),
                    )
                })
            })
            .transpose()
    };
    let opts = leadscore_app::closed_loop::LoopOptions {
        version: q.version,
        against: q.against,
        target,
        as_of: time("as_of", &q.as_of)?,
        created_before: time("created_before", &q.created_before)?,
    };
    let e = st.svc.closed_loop(&space, &opts).await?;
    Ok(if html {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            leadscore_learn::report::html(&e),
        )
            .into_response()
    } else {
        Json(json!(e)).into_response()
    })
}

// ---- predictive model ---------------------------------------------------------------------

/// The workspace's latest learned model (trained from the store by a retrain): `version`,
/// `target`, `algo`, `rows`, `positives`, `hash`, `trained_at`, and from the model file the
/// out-of-fold metrics of each learner tried (`candidates`), `threshold`, `grades`, `warnings`,
/// and what a person reads in it (`effects`, null for trees alone): `coefficients` (`term`,
/// `coefficient`, `odds_ratio`, largest effect first) and `numbers` (per binned number column,
/// `column` and `ranges`: `range`, `log_odds`, `odds_ratio` against the average lead).
#[utoipa::path(get, path = "/api/v1/model/learned", tag = "model",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn get_learned(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let m = st
        .svc
        .store()
        .latest_learned_model(&space.id)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::NotFound("a learned model (no retrain has trained one)".into()))?;
    let file: Value = serde_json::from_str(&m.model).unwrap_or(Value::Null);
    Ok(Json(json!({
        "version": m.version, "target": m.target, "algo": m.algo, "rows": m.rows,
        "positives": m.positives, "hash": m.hash, "trained_at": time_text(m.trained_at),
        "candidates": file["candidates"], "threshold": file["threshold"],
        "grades": file["grades"], "warnings": file["warnings"],
        "effects": leadscore_app::predict::effects(&m.model),
    })))
}

/// Retrains the predictive model from the store now, in the background (as
/// `serve --retrain-every` does): a job of kind `retrain`, `skipped` with a note when there are
/// too few outcomes; when done, every lead has a `prediction`.
#[utoipa::path(post, path = "/api/v1/model/retrain", tag = "model",
    responses((status = 202, body = Object)), security(("read_key" = [])))]
pub(crate) async fn retrain(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let space = read_space(&st, &headers).await?;
    let job = st.svc.start_retrain(&space).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job }))).into_response())
}

// ---- webhooks --------------------------------------------------------------------------------

/// The workspace's webhook subscriptions.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn list_webhooks(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let list = st
        .svc
        .store()
        .webhooks(&space.id)
        .await
        .map_err(AppError::from)?;
    Ok(Json(json!({ "webhooks": list })))
}

/// Subscribes a URL to score events (see the README for the triggers).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = Object,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn create_webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let space = read_space(&st, &headers).await?;
    let v = json_body(&body_bytes(body)?)?;
    let (hook, secret) = leadscore_app::hooks::create(&st.svc, &space, &v).await?;
    let mut out = serde_json::to_value(&hook).unwrap_or(Value::Null);
    out["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Removes a subscription.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("read_key" = [])))]
pub(crate) async fn delete_webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let space = read_space(&st, &headers).await?;
    if !st
        .svc
        .store()
        .delete_webhook(&space.id, &id)
        .await
        .map_err(AppError::from)?
    {
        return Err(AppError::NotFound(format!("webhook `{id}`")).into());
    }
    st.svc.reload_webhooks(&space).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log: every attempt with its status, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "webhooks",
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn deliveries(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let list = st
        .svc
        .store()
        .deliveries(&space.id, 500)
        .await
        .map_err(AppError::from)?;
    Ok(Json(json!({ "deliveries": list })))
}

/// The outbox: every enqueued delivery with its state, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/outbox", tag = "webhooks",
    responses((status = 200, body = Object)), security(("read_key" = [])))]
pub(crate) async fn outbox(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let space = read_space(&st, &headers).await?;
    let list = st
        .svc
        .store()
        .outbox(&space.id, 500)
        .await
        .map_err(AppError::from)?;
    Ok(Json(json!({ "outbox": list })))
}

// ---- import ----------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
pub(crate) struct ImportQuery {
    /// `contacts`, `accounts`, `events` or `outcomes`.
    kind: String,
    /// `csv` (default) or `ndjson`.
    format: Option<String>,
    /// The file name used in error messages.
    name: Option<String>,
}

/// Bulk import of a contacts, accounts, events or outcomes file (CSV or NDJSON, as the batch
/// CLI and `leadscore import` read), with the batch CLI's error reporting (`file:line: column
/// `x`: …`; the 400 body has `code` `invalid_file`, `file`, `line` and `field`). The whole file
/// is checked before anything is stored: all or nothing. Outcomes: CSV
/// `contact_id,kind[,stage,amount,reason,timestamp,id]` (or the generator's
/// `contact_id,converted,converted_at,amount`), NDJSON one `POST /api/v1/outcomes` object a
/// line; a row without `id` gets one from its content, so importing a file again stores
/// nothing twice (`duplicates`); `rescored` is 0.
#[utoipa::path(post, path = "/api/v1/import", tag = "ingest", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("write_key" = [])))]
pub(crate) async fn import(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, ApiError> {
    let space = write_space(&st, &headers, None).await?;
    let bytes = body_bytes(body)?;
    let kind = match q.kind.as_str() {
        "contacts" => Some(leadscore_app::import::Kind::Contacts),
        "accounts" => Some(leadscore_app::import::Kind::Accounts),
        "events" => Some(leadscore_app::import::Kind::Events),
        "outcomes" => None,
        o => {
            return Err(bad(
                "kind",
                format!("`{o}`: expected contacts, accounts, events or outcomes"),
            ));
        }
    };
    let ndjson = match q.format.as_deref() {
        None | Some("csv") => false,
        Some("ndjson") | Some("jsonl") => true,
        Some(o) => return Err(bad("format", format!("`{o}`: expected csv or ndjson"))),
    };
    let name = q
        .name
        .unwrap_or_else(|| format!("{}.{}", q.kind, if ndjson { "ndjson" } else { "csv" }));
    let Some(kind) = kind else {
        let list = leadscore_app::outcome::parse_file(ndjson, &bytes[..], &name, st.svc.now_ms())?;
        let r = st.svc.record_outcomes(&space, &list).await?;
        return Ok(Json(IngestResponse {
            success: true,
            accepted: r.accepted,
            duplicates: r.duplicates,
            rescored: 0,
        }));
    };
    let r = leadscore_app::import::import(&st.svc, &space, kind, ndjson, &bytes[..], &name).await?;
    Ok(Json(IngestResponse {
        success: true,
        accepted: r.accepted,
        duplicates: r.duplicates,
        rescored: r.rescored,
    }))
}

/// Records outcomes (SPEC D4) for closed-loop learning:
/// `{"outcomes": [{"contact_id", "kind", "stage"?, "amount"?, "reason"?, "timestamp"?, "id"?}]}`
/// with `kind` one of `stage_changed`, `opportunity_created`, `won`, `lost`. All or nothing:
/// the first bad outcome is named by `index` and `field`. An `id` stored before is a duplicate.
#[utoipa::path(post, path = "/api/v1/outcomes", tag = "ingest",
    request_body(content = Object, description = "`{\"outcomes\": [...]}`"),
    responses((status = 200, body = OutcomesResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("write_key" = [])))]
pub(crate) async fn record_outcomes(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<OutcomesResponse>, ApiError> {
    let space = write_space(&st, &headers, None).await?;
    let bytes = body_bytes(body)?;
    let v = json_body(&bytes)?;
    let outcomes = leadscore_app::outcome::parse(&v, st.svc.now_ms())?;
    let r = st.svc.record_outcomes(&space, &outcomes).await?;
    Ok(Json(OutcomesResponse {
        success: true,
        accepted: r.accepted,
        duplicates: r.duplicates,
    }))
}

// ---- service endpoints -----------------------------------------------------------------------

/// The OpenAPI document.
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}

/// Liveness: 200 when the database answers.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Object), (status = 503, body = ErrorBody)))]
pub(crate) async fn healthz(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    st.svc.store().workspaces().await.map_err(AppError::from)?;
    Ok(Json(
        json!({ "ok": true, "backend": format!("{:?}", st.svc.store().backend()).to_lowercase() }),
    ))
}

/// Prometheus metrics: events ingested, ingest-to-score latency, webhook deliveries and failures.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(st): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
        .into_response()
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
