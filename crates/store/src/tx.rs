//! The ingestion transaction: append messages, link anonymous ids, read and lock the contacts
//! they touch, write new scores, history and accounts — all committed together, so a message
//! acknowledged is a message stored with the scores it caused.

use crate::{
    AccountRecord, Alias, Backend, CONTACT_COLUMNS, ContactRecord, EventRecord, HistoryRecord,
    NewEvent, Ph, Result, StoreError, account_record, contact_record, dynamic, nullable,
};
use sqlx::{AnyConnection, Row};

/// Rows per multi-row statement: keeps every statement under SQLite's 32,766 parameters.
const CHUNK: usize = 400;

/// An open ingestion transaction. Dropping it without [`Tx::commit`] rolls back.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
}

impl Tx {
    pub(crate) fn new(tx: sqlx::Transaction<'static, sqlx::Any>, backend: Backend) -> Tx {
        Tx { tx, backend }
    }

    /// Commits.
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Appends messages; a `messageId` the workspace has already is skipped. Returns the
    /// `(seq, message_id)` of the rows actually inserted (each message id once).
    pub async fn insert_events(
        &mut self,
        ws: &str,
        events: &[NewEvent],
    ) -> Result<Vec<(i64, String)>> {
        let mut inserted = Vec::with_capacity(events.len());
        for chunk in events.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO events (workspace_id, message_id, kind, event, user_id, anonymous_id, group_id, ts, received_at, props) VALUES ",
            );
            let mut ph = Ph::new(self.backend);
            sql.push_str(&ph.rows(chunk.len(), &[false; 10], ""));
            sql.push_str(
                " ON CONFLICT (workspace_id, message_id) DO NOTHING RETURNING seq, message_id",
            );
            let mut q = dynamic(sql);
            for e in chunk {
                q = q
                    .bind(ws)
                    .bind(&e.message_id)
                    .bind(&e.kind)
                    .bind(&e.event)
                    .bind(&e.user_id)
                    .bind(&e.anonymous_id)
                    .bind(&e.group_id)
                    .bind(e.ts)
                    .bind(e.received_at)
                    .bind(&e.props);
            }
            for r in q.fetch_all(&mut *self.tx).await? {
                inserted.push((r.get(0), r.get(1)));
            }
        }
        Ok(inserted)
    }

    /// Links anonymous ids to contacts; the first link of an anonymous id wins.
    pub async fn link_aliases(&mut self, ws: &str, aliases: &[Alias]) -> Result<()> {
        for chunk in aliases.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO aliases (workspace_id, anonymous_id, contact_id, linked_at) VALUES ",
            );
            let mut ph = Ph::new(self.backend);
            sql.push_str(&ph.rows(chunk.len(), &[false; 4], ""));
            sql.push_str(" ON CONFLICT (workspace_id, anonymous_id) DO NOTHING");
            let mut q = dynamic(sql);
            for a in chunk {
                q = q
                    .bind(ws)
                    .bind(&a.anonymous_id)
                    .bind(&a.contact_id)
                    .bind(a.linked_at);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// The contacts these anonymous ids are linked to: `(anonymous_id, contact_id)`.
    pub async fn aliases_by_anonymous(
        &mut self,
        ws: &str,
        anon: &[String],
    ) -> Result<Vec<(String, String)>> {
        aliases(&mut self.tx, ws, "anonymous_id", anon).await
    }

    /// The anonymous ids linked to these contacts: `(anonymous_id, contact_id)`.
    pub async fn aliases_by_contact(
        &mut self,
        ws: &str,
        contacts: &[String],
    ) -> Result<Vec<(String, String)>> {
        aliases(&mut self.tx, ws, "contact_id", contacts).await
    }

    /// The stored versions of these contacts (those that exist), locking their rows on
    /// PostgreSQL so two nodes scoring the same contact take turns. Ids are locked in sorted
    /// order so two transactions cannot deadlock.
    pub async fn lock_contacts(&mut self, ws: &str, ids: &[String]) -> Result<Vec<(String, i64)>> {
        let mut sorted: Vec<&String> = ids.iter().collect();
        sorted.sort();
        sorted.dedup();
        let tail = if self.backend == Backend::Postgres {
            " ORDER BY id FOR UPDATE"
        } else {
            " ORDER BY id"
        };
        select_in(
            &mut self.tx,
            "SELECT id, version FROM contacts",
            ws,
            "id",
            &sorted,
            tail,
            |r| Ok((r.get(0), r.get(1))),
        )
        .await
    }

    /// These contacts as stored (those that exist).
    pub async fn contacts(&mut self, ws: &str, ids: &[String]) -> Result<Vec<ContactRecord>> {
        load_contacts(&mut self.tx, ws, ids).await
    }

    /// The behaviour messages (track, page, screen) of these contacts and of these anonymous
    /// ids (when no user id came with them), oldest first.
    pub async fn behaviour(
        &mut self,
        ws: &str,
        users: &[String],
        anon: &[String],
    ) -> Result<Vec<EventRecord>> {
        load_messages(&mut self.tx, ws, users, anon, true).await
    }

    /// Writes contacts with their scores (insert or replace). One row per contact.
    pub async fn upsert_contacts(&mut self, ws: &str, rows: &[ContactRecord]) -> Result<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO contacts (workspace_id, id, account_id, traits, version, events, first_seen, updated_at, score, tier, grade, priority, status, segment, reasons, moment, model_version, scored_at) VALUES ",
            );
            let mut ph = Ph::new(self.backend);
            sql.push_str(&ph.rows(chunk.len(), &[false; 18], ""));
            sql.push_str(
                " ON CONFLICT (workspace_id, id) DO UPDATE SET account_id = excluded.account_id, traits = excluded.traits,
                  version = excluded.version, events = excluded.events, updated_at = excluded.updated_at,
                  score = excluded.score, tier = excluded.tier, grade = excluded.grade, priority = excluded.priority,
                  status = excluded.status, segment = excluded.segment, reasons = excluded.reasons,
                  moment = excluded.moment, model_version = excluded.model_version, scored_at = excluded.scored_at",
            );
            let mut q = dynamic(sql);
            for c in chunk {
                let s = &c.score;
                q = q
                    .bind(ws)
                    .bind(&c.id)
                    .bind(&c.account_id)
                    .bind(serde_json::to_string(&c.traits).unwrap_or_else(|_| "{}".into()))
                    .bind(c.version)
                    .bind(c.events)
                    .bind(c.first_seen)
                    .bind(c.updated_at)
                    .bind(s.score)
                    .bind(&s.tier)
                    .bind(&s.grade)
                    .bind(&s.priority)
                    .bind(&s.status)
                    .bind(&s.segment)
                    .bind(serde_json::to_string(&s.reasons).unwrap_or_else(|_| "[]".into()))
                    .bind(s.moment.as_ref().map(|m| m.to_string()))
                    .bind(s.model_version)
                    .bind(s.scored_at);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Appends score changes.
    pub async fn insert_history(&mut self, ws: &str, rows: &[HistoryRecord]) -> Result<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO score_history (workspace_id, contact_id, at, old_score, new_score, old_tier, new_tier, old_status, new_status, cause, model_version) VALUES ",
            );
            let mut ph = Ph::new(self.backend);
            let mut cols = [false; 11];
            cols[3] = true;
            sql.push_str(&ph.rows(chunk.len(), &cols, ""));
            let mut q = dynamic(sql);
            for h in chunk {
                q = q
                    .bind(ws)
                    .bind(&h.contact_id)
                    .bind(h.at)
                    .bind(nullable(h.old_score))
                    .bind(h.new_score)
                    .bind(&h.old_tier)
                    .bind(&h.new_tier)
                    .bind(&h.old_status)
                    .bind(&h.new_status)
                    .bind(&h.cause)
                    .bind(h.model_version);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// These accounts as stored (those that exist).
    pub async fn accounts(&mut self, ws: &str, ids: &[String]) -> Result<Vec<AccountRecord>> {
        load_accounts(&mut self.tx, ws, ids).await
    }

    /// The contacts of these accounts: `(account_id, contact_id, score)`.
    pub async fn account_members(
        &mut self,
        ws: &str,
        accounts: &[String],
    ) -> Result<Vec<(String, String, f64)>> {
        select_in(
            &mut self.tx,
            "SELECT account_id, id, score FROM contacts",
            ws,
            "account_id",
            accounts,
            "",
            |r| Ok((r.get(0), r.get(1), r.get(2))),
        )
        .await
    }

    /// Writes accounts (insert or replace). One row per account.
    pub async fn upsert_accounts(&mut self, ws: &str, rows: &[AccountRecord]) -> Result<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO accounts (workspace_id, id, traits, score, tier, contacts, updated_at) VALUES ",
            );
            let mut ph = Ph::new(self.backend);
            let mut cols = [false; 7];
            cols[3] = true;
            sql.push_str(&ph.rows(chunk.len(), &cols, ""));
            sql.push_str(
                " ON CONFLICT (workspace_id, id) DO UPDATE SET traits = excluded.traits, score = excluded.score,
                  tier = excluded.tier, contacts = excluded.contacts, updated_at = excluded.updated_at",
            );
            let mut q = dynamic(sql);
            for a in chunk {
                q = q
                    .bind(ws)
                    .bind(&a.id)
                    .bind(serde_json::to_string(&a.traits).unwrap_or_else(|_| "{}".into()))
                    .bind(nullable(a.score))
                    .bind(&a.tier)
                    .bind(a.contacts)
                    .bind(a.updated_at);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

/// Runs `{select} WHERE workspace_id = ? AND {column} IN (…){tail}` over `ids`, a chunk at a
/// time, mapping each row with `row`.
async fn select_in<T, S: AsRef<str>>(
    c: &mut AnyConnection,
    select: &str,
    ws: &str,
    column: &str,
    ids: &[S],
    tail: &str,
    row: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut ph = Ph::for_conn(c);
        let sql = format!(
            "{select} WHERE workspace_id = {} AND {column} IN ({}){tail}",
            ph.one(),
            ph.list(chunk.len())
        );
        let mut q = dynamic(sql).bind(ws.to_owned());
        for id in chunk {
            q = q.bind(id.as_ref().to_owned());
        }
        for r in q.fetch_all(&mut *c).await? {
            out.push(row(&r)?);
        }
    }
    Ok(out)
}

async fn aliases(
    c: &mut AnyConnection,
    ws: &str,
    column: &str,
    ids: &[String],
) -> Result<Vec<(String, String)>> {
    select_in(
        c,
        "SELECT anonymous_id, contact_id FROM aliases",
        ws,
        column,
        ids,
        "",
        |r| Ok((r.get(0), r.get(1))),
    )
    .await
}

pub(crate) async fn load_contacts(
    c: &mut AnyConnection,
    ws: &str,
    ids: &[String],
) -> Result<Vec<ContactRecord>> {
    select_in(
        c,
        &format!("{CONTACT_COLUMNS} FROM contacts"),
        ws,
        "id",
        ids,
        "",
        contact_record,
    )
    .await
}

pub(crate) async fn load_accounts(
    c: &mut AnyConnection,
    ws: &str,
    ids: &[String],
) -> Result<Vec<AccountRecord>> {
    select_in(
        c,
        "SELECT id, traits, score, tier, contacts, updated_at FROM accounts",
        ws,
        "id",
        ids,
        "",
        account_record,
    )
    .await
}

/// Every message of each contact of `ids` (by its user id, and by the anonymous ids linked to
/// it, sent without a user id), oldest first, in a few queries for all of them.
pub(crate) async fn messages_by_contact(
    c: &mut AnyConnection,
    ws: &str,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<EventRecord>>> {
    let linked: std::collections::HashMap<String, String> = aliases(c, ws, "contact_id", ids)
        .await?
        .into_iter()
        .collect();
    let anon: Vec<String> = linked.keys().cloned().collect();
    let mut out: std::collections::HashMap<String, Vec<EventRecord>> =
        ids.iter().map(|id| (id.clone(), Vec::new())).collect();
    for e in load_messages(c, ws, ids, &anon, false).await? {
        let owner = match (&e.event.user_id, &e.event.anonymous_id) {
            (Some(u), _) => Some(u),
            (None, Some(a)) => linked.get(a),
            (None, None) => None,
        };
        if let Some(list) = owner.and_then(|o| out.get_mut(o)) {
            list.push(e);
        }
    }
    Ok(out)
}

/// Messages of these users, and of these anonymous ids sent without a user id, oldest first.
/// `behaviour_only` keeps track, page and screen messages.
pub(crate) async fn load_messages(
    c: &mut AnyConnection,
    ws: &str,
    users: &[String],
    anon: &[String],
    behaviour_only: bool,
) -> Result<Vec<EventRecord>> {
    let kinds = if behaviour_only {
        " AND kind IN ('track', 'page', 'screen')"
    } else {
        ""
    };
    let mut out = Vec::new();
    for (column, ids) in [("user_id", users), ("anonymous_id", anon)] {
        let extra = if column == "anonymous_id" {
            " AND user_id IS NULL"
        } else {
            ""
        };
        out.extend(
            select_in(
                c,
                "SELECT seq, message_id, kind, event, user_id, anonymous_id, group_id, ts, received_at, props FROM events",
                ws,
                column,
                ids,
                &format!("{extra}{kinds}"),
                |r| Ok(event_record(r)),
            )
            .await?,
        );
    }
    out.sort_by_key(|e| (e.event.ts, e.seq));
    out.dedup_by_key(|e| e.seq);
    Ok(out)
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Json("a column", e)
    }
}

pub(crate) fn event_record(r: &sqlx::any::AnyRow) -> EventRecord {
    EventRecord {
        seq: r.get(0),
        event: NewEvent {
            message_id: r.get(1),
            kind: r.get(2),
            event: r.get(3),
            user_id: r.get(4),
            anonymous_id: r.get(5),
            group_id: r.get(6),
            ts: r.get(7),
            received_at: r.get(8),
            props: r.get(9),
        },
    }
}
