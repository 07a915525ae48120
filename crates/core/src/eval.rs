//! Scoring: events stream into a small per-contact state, then `finish` turns the state and the
//! contact's attributes into a [`Scored`] lead with its full explanation.
//!
//! The state holds one accumulator per event test in the model (count, latest match, decayed
//! per-occurrence points), so memory grows with contacts × tests, never with events, and the
//! order in which events arrive does not change the result.

use crate::error::ValueError;
use crate::model::*;
use crate::name::Name;
use crate::scored::top_three;
use crate::scored::*;
use crate::value::{
    DAY, FieldType, UnixSeconds, Value, format_time, parse_bool, parse_number, parse_time,
};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU64};

/// A contact: its id, its account, and the attributes the model reads, in
/// [`Model::contact_fields`] order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contact {
    /// The contact's id.
    pub id: String,
    /// The account (company) it belongs to, if any.
    pub account_id: Option<String>,
    /// Attribute values by slot.
    pub attrs: Vec<Value>,
}

/// An account: its id and the attributes the model reads, in [`Model::account_fields`] order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// The account's id.
    pub id: String,
    /// Attribute values by slot.
    pub attrs: Vec<Value>,
}

/// Where event property values come from, by the slot of [`Model::properties`]. A CSV reader
/// answers from its record; an API handler from a JSON object.
pub trait Props {
    /// The raw text of property `slot`, or `None` when the event does not have it.
    fn prop(&self, slot: usize) -> Option<&str>;
}

impl<T: AsRef<str>> Props for [Option<T>] {
    fn prop(&self, slot: usize) -> Option<&str> {
        self.get(slot)?.as_ref().map(|s| s.as_ref())
    }
}

impl<T: AsRef<str>> Props for Vec<Option<T>> {
    fn prop(&self, slot: usize) -> Option<&str> {
        self.as_slice().prop(slot)
    }
}

/// An owned event, for callers that hold events in memory (tests, the server).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event type, e.g. `email_open`.
    pub kind: String,
    /// When it happened.
    pub at: UnixSeconds,
    /// Its properties by name.
    pub props: Vec<(String, String)>,
}

/// One tracker's accumulator, 16 bytes: a contact's state is contacts × trackers of these, so
/// its size is most of the memory a batch run touches. Every field merges without regard to
/// order (add, add, newest), so events may arrive in any order and be split across threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acc {
    /// Per-occurrence points after decay, in millionths: integer addition is associative, so
    /// the total does not depend on event order or thread count.
    micro: i64,
    /// Matches (upper 24 bits, saturating at 16,777,215) and, in the low 8 bits, the position
    /// in the tracker's event-type list of the latest match.
    packed: u32,
    /// Seconds from the latest match to as-of (`NO_AGE` when none). Events are never after
    /// as-of, so an age fits where a timestamp would not.
    age: u32,
}

const NO_AGE: u32 = u32::MAX;
const MAX_COUNT: u32 = (1 << 24) - 1;
const EMPTY: Acc = Acc {
    micro: 0,
    packed: 0,
    age: NO_AGE,
};

impl Acc {
    fn count(&self) -> u32 {
        self.packed >> 8
    }

    fn type_slot(&self) -> usize {
        (self.packed & 0xff) as usize
    }

    /// The latest match as a time, given the as-of it was measured from.
    fn last(&self, as_of: UnixSeconds) -> Option<UnixSeconds> {
        (self.age != NO_AGE).then(|| as_of - i64::from(self.age))
    }

    fn hit(&mut self, slot: u8, age: u32, micro: i64) {
        self.add(1, slot, age, micro);
    }

    fn add(&mut self, n: u32, slot: u8, age: u32, micro: i64) {
        let count = (self.count() + n).min(MAX_COUNT);
        // Ties on time go to the later slot, so the result is the same in any order.
        let slot = if age < self.age || (age == self.age && usize::from(slot) > self.type_slot()) {
            self.age = age;
            slot
        } else {
            self.type_slot() as u8
        };
        self.packed = (count << 8) | u32::from(slot);
        // Saturating: a model may give a rule any i64 of points, and millionths of those
        // overflow after a couple of events.
        self.micro = self.micro.saturating_add(micro);
    }

    fn merge(&mut self, o: &Acc) {
        if o.count() > 0 {
            self.add(o.count(), o.type_slot() as u8, o.age, o.micro);
        }
    }

    fn sum(&self) -> f64 {
        self.micro as f64 / 1e6
    }

    /// Count, type slot and age in one word, for atomic updates.
    fn word(&self) -> u64 {
        (u64::from(self.packed) << 32) | u64::from(self.age)
    }

    fn from_word(word: u64, micro: i64) -> Acc {
        Acc {
            micro,
            packed: (word >> 32) as u32,
            age: word as u32,
        }
    }
}

/// Where `observe` writes: a state this thread owns, or a table shared between threads.
enum Target<'a> {
    Owned(&'a mut [Slot]),
    Shared(&'a [Slot]),
}

/// Where an accumulator lives: two atomics, so several threads can feed one table without a
/// copy per thread. Reads are relaxed loads (plain moves on common hardware); a thread that owns
/// the state writes through `get_mut` with no atomic operation at all.
#[derive(Debug)]
struct Slot {
    micro: AtomicI64,
    word: AtomicU64,
}

impl Slot {
    fn empty() -> Slot {
        Slot {
            micro: AtomicI64::new(EMPTY.micro),
            word: AtomicU64::new(EMPTY.word()),
        }
    }

    fn load(&self) -> Acc {
        Acc::from_word(self.word.load(Relaxed), self.micro.load(Relaxed))
    }

    fn store(&mut self, a: Acc) {
        *self.micro.get_mut() = a.micro;
        *self.word.get_mut() = a.word();
    }

    fn hit_owned(&mut self, slot: u8, age: u32, micro: i64) {
        let mut a = Acc::from_word(*self.word.get_mut(), *self.micro.get_mut());
        a.hit(slot, age, micro);
        self.store(a);
    }

    fn hit_shared(&self, slot: u8, age: u32, micro: i64) {
        if micro != 0 {
            // Saturating like the owned path, so one table fed by many threads gives exactly
            // what one thread would, even for absurd point values.
            let _ = self
                .micro
                .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_add(micro)));
        }
        let mut cur = self.word.load(Relaxed);
        loop {
            let mut a = Acc::from_word(cur, 0);
            a.hit(slot, age, 0);
            match self
                .word
                .compare_exchange_weak(cur, a.word(), Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    fn merge_owned(&mut self, other: &Slot) {
        let mut a = Acc::from_word(*self.word.get_mut(), *self.micro.get_mut());
        a.merge(&other.load());
        self.store(a);
    }
}

impl Clone for Slot {
    fn clone(&self) -> Slot {
        let a = self.load();
        Slot {
            micro: AtomicI64::new(a.micro),
            word: AtomicU64::new(a.word()),
        }
    }
}

impl PartialEq for Slot {
    fn eq(&self, o: &Slot) -> bool {
        self.load() == o.load()
    }
}

/// What the model has seen of one contact's events so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactState {
    accs: Vec<Slot>,
}

impl ContactState {
    /// Adds another state of the same contact (e.g. built from a different part of the events).
    pub fn merge(&mut self, other: &ContactState) {
        for (a, b) in self.accs.iter_mut().zip(&other.accs) {
            a.merge_owned(b);
        }
    }
}

/// The states of many contacts in one flat allocation, indexed by contact position. One table
/// can be fed by several threads at once through [`Scorer::observe_shared`].
#[derive(Debug, Clone, PartialEq)]
pub struct StateTable {
    accs: Vec<Slot>,
    width: usize,
}

impl StateTable {
    /// A table of `contacts` empty states for `model`.
    pub fn new(model: &Model, contacts: usize) -> Self {
        let width = model.trackers.len();
        Self {
            accs: (0..width * contacts).map(|_| Slot::empty()).collect(),
            width,
        }
    }

    /// Adds every state of `other` (same model, same contacts) into this table.
    pub fn merge(&mut self, other: &StateTable) {
        for (a, b) in self.accs.iter_mut().zip(&other.accs) {
            a.merge_owned(b);
        }
    }

    fn row(&self, i: usize) -> &[Slot] {
        &self.accs[i * self.width..(i + 1) * self.width]
    }

    fn row_mut(&mut self, i: usize) -> &mut [Slot] {
        &mut self.accs[i * self.width..(i + 1) * self.width]
    }
}

/// What one fired rule adds, before it becomes an explanation line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleHit {
    occurrences: Option<u32>,
    before: f64,
    after: f64,
    points: f64,
    last: Option<UnixSeconds>,
}

/// A lead's score, segment and disqualification, without the explanation: enough to rank a
/// population and roll up accounts cheaply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Brief {
    /// The score, exactly as [`Scored::score`].
    pub score: f64,
    /// The segment's position (0 = default).
    pub segment_index: usize,
    /// Whether a disqualification rule fired.
    pub disqualified: bool,
    /// Which of the segment's rules fired (bit i = its i-th rule) and which disqualifiers,
    /// when both fit in 64 bits: a second pass over the same state can skip re-testing
    /// conditions. `None` when the model is larger.
    masks: Option<(u64, u64)>,
}

/// A grade cell: fit letter and engagement digit, e.g. `A1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradeCell([u8; 2]);

impl GradeCell {
    /// The cell as text.
    pub fn as_str(&self) -> &str {
        // Always an ASCII letter and digit (see `evaluate`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// A category's points in a [`Headline`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoryPoints {
    /// Sum of rule points.
    pub raw: f64,
    /// After the category cap.
    pub capped: f64,
    /// What the category adds to the score.
    pub points: f64,
}

/// The last interesting moment, borrowed from the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadlineMoment<'m> {
    /// When.
    pub at: UnixSeconds,
    /// The event type.
    pub event: &'m str,
    /// The rule it matched.
    pub rule: &'m str,
    /// That rule's label.
    pub label: &'m str,
}

/// What a lead's score comes to, with every name borrowed from the model: all that an export
/// row needs, without the allocations of a full [`Scored`]. Same numbers as [`Scorer::finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct Headline<'m> {
    /// The score.
    pub score: f64,
    /// Its tier.
    pub tier: &'m str,
    /// Fit × engagement cell.
    pub grade: Option<GradeCell>,
    /// The cell's priority label.
    pub priority: Option<&'m str>,
    /// Qualified, disqualified or pool.
    pub status: Status,
    /// The segment whose rules applied.
    pub segment: &'m str,
    /// Its position (0 = default).
    pub segment_index: usize,
    /// Sales-ready because of the tier.
    pub tier_ready: bool,
    /// Sales-ready because of the grade cell.
    pub grade_ready: bool,
    /// Sales-ready because it is in the segment's top N% (set by [`Ranking::apply_headline`]).
    pub top_percent: Option<f64>,
    /// Share of the segment scoring lower (set by [`Ranking::apply_headline`]).
    pub percentile: Option<f64>,
    /// Category points in model order.
    pub categories: Vec<CategoryPoints>,
    /// Named scores in model order: value and tier.
    pub scores: Vec<(f64, Option<&'m str>)>,
    /// Positions of the disqualification rules that fired.
    pub disqualified_by: Vec<usize>,
    /// The three biggest contributions (label, points), largest first.
    pub top_reasons: [Option<(&'m str, f64)>; 3],
    /// The latest high-value signal.
    pub moment: Option<HeadlineMoment<'m>>,
}

/// Reusable working memory for [`Scorer::headline_at`].
#[derive(Debug, Default)]
pub struct Scratch(Vec<(usize, RuleHit)>);

/// Scores contacts as of one moment. Cheap to create and clone; holds no data of its own.
#[derive(Debug, Clone)]
pub struct Scorer<'m> {
    model: &'m Model,
    as_of: UnixSeconds,
    /// `as_of` as RFC 3339, formatted once: every score carries it.
    as_of_text: Name,
}

/// A view of one value, typed as the model needs it, borrowed where possible.
enum V<'a> {
    Missing,
    Text(&'a str),
    Number(f64),
    Bool(bool),
    Date(UnixSeconds),
}

impl<'m> Scorer<'m> {
    /// A scorer for `model` at time `as_of`: events after `as_of` are ignored, windows and decay
    /// are measured back from it.
    pub fn new(model: &'m Model, as_of: UnixSeconds) -> Self {
        Self {
            model,
            as_of,
            as_of_text: format_time(as_of).into(),
        }
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// The scoring time.
    pub fn as_of(&self) -> UnixSeconds {
        self.as_of
    }

    /// An empty state for a contact with no events yet.
    pub fn new_state(&self) -> ContactState {
        ContactState {
            accs: (0..self.model.trackers.len())
                .map(|_| Slot::empty())
                .collect(),
        }
    }

    /// Feeds one event. A property the model compares as a number (or date, or boolean) that does
    /// not parse is an error naming the property; the state is unchanged by a failed event.
    pub fn observe<P: Props + ?Sized>(
        &self,
        state: &mut ContactState,
        ty: EventType,
        at: UnixSeconds,
        props: &P,
    ) -> Result<(), ValueError> {
        self.observe_accs(Target::Owned(&mut state.accs), ty, at, props)
    }

    /// [`Scorer::observe`] for contact `index` of a [`StateTable`].
    pub fn observe_at<P: Props + ?Sized>(
        &self,
        table: &mut StateTable,
        index: usize,
        ty: EventType,
        at: UnixSeconds,
        props: &P,
    ) -> Result<(), ValueError> {
        self.observe_accs(Target::Owned(table.row_mut(index)), ty, at, props)
    }

    /// [`Scorer::observe_at`] through a shared reference, so several threads can feed one table
    /// at once. The result is the same as feeding the events one by one in any order.
    pub fn observe_shared<P: Props + ?Sized>(
        &self,
        table: &StateTable,
        index: usize,
        ty: EventType,
        at: UnixSeconds,
        props: &P,
    ) -> Result<(), ValueError> {
        self.observe_accs(Target::Shared(table.row(index)), ty, at, props)
    }

    fn observe_accs<P: Props + ?Sized>(
        &self,
        mut accs: Target<'_>,
        ty: EventType,
        at: UnixSeconds,
        props: &P,
    ) -> Result<(), ValueError> {
        if at > self.as_of {
            return Ok(());
        }
        let trackers = &self.model.trackers_by_type[ty.0];
        // Saturating: an event at any `i64` time, however far in the past, is just very old.
        let elapsed = self.as_of.saturating_sub(at);
        let age = u32::try_from(elapsed).unwrap_or(NO_AGE - 1).min(NO_AGE - 1);
        // Check every filter first so a bad property leaves the state untouched.
        let mut mask = [false; 32];
        let mut spill = Vec::new();
        let flags: &mut [bool] = if trackers.len() <= mask.len() {
            &mut mask[..trackers.len()]
        } else {
            spill.resize(trackers.len(), false);
            &mut spill
        };
        for (flag, &(t, _)) in flags.iter_mut().zip(trackers) {
            let tr = &self.model.trackers[t];
            // Inclusive at both ends, like `within_days` on a date field.
            let in_window = tr.window.is_none_or(|w| at >= self.as_of - w);
            *flag = in_window
                && match &tr.filter {
                    None => true,
                    Some(f) => self.prop_cond(f, props)?,
                };
        }
        for (&flag, &(t, slot)) in flags.iter().zip(trackers) {
            if flag {
                let micro = match &self.model.trackers[t].per_occurrence {
                    Some(p) => (p.points * p.decay.factor(elapsed) * 1e6).round() as i64,
                    None => 0,
                };
                match &mut accs {
                    Target::Owned(a) => a[t].hit_owned(slot, age, micro),
                    Target::Shared(a) => a[t].hit_shared(slot, age, micro),
                }
            }
        }
        Ok(())
    }

    /// Feeds an owned [`Event`]; events of types the model does not use are skipped.
    pub fn observe_event(&self, state: &mut ContactState, e: &Event) -> Result<(), ValueError> {
        let Some(ty) = self.model.event_type(&e.kind) else {
            return Ok(());
        };
        let props: Vec<Option<&str>> = self
            .model
            .properties
            .iter()
            .map(|p| {
                e.props
                    .iter()
                    .find(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        self.observe(state, ty, e.at, props.as_slice())
    }

    /// Scores a contact from in-memory events in one call.
    pub fn score_events(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        events: &[Event],
    ) -> Result<Scored, ValueError> {
        let mut st = self.new_state();
        for e in events {
            self.observe_event(&mut st, e)?;
        }
        Ok(self.finish(contact, account, &st))
    }

    fn prop_cond<P: Props + ?Sized>(&self, c: &Cond, props: &P) -> Result<bool, ValueError> {
        Ok(match c {
            Cond::Prop { slot, pred } => {
                let def = &self.model.properties[*slot];
                let raw = props.prop(*slot).map(str::trim).filter(|s| !s.is_empty());
                let v = match raw {
                    None => V::Missing,
                    Some(s) => {
                        let bad = || ValueError {
                            field: def.name.clone(),
                            expected: def.ty.expected(),
                            found: s.to_owned(),
                        };
                        match def.ty {
                            FieldType::Text => V::Text(s),
                            FieldType::Number => V::Number(parse_number(s).ok_or_else(bad)?),
                            FieldType::Bool => V::Bool(parse_bool(s).ok_or_else(bad)?),
                            FieldType::Date => V::Date(parse_time(s).ok_or_else(bad)?),
                        }
                    }
                };
                self.pred(pred, &v)
            }
            Cond::All(list) => {
                for x in list {
                    if !self.prop_cond(x, props)? {
                        return Ok(false);
                    }
                }
                true
            }
            Cond::Any(list) => {
                for x in list {
                    if self.prop_cond(x, props)? {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::Not(x) => !self.prop_cond(x, props)?,
            // The compiler only puts property tests inside `where`.
            Cond::Attr { .. } | Cond::Count { .. } | Cond::Rate { .. } => false,
        })
    }

    fn pred(&self, p: &Pred, v: &V) -> bool {
        if let V::Missing = v {
            return matches!(p, Pred::Exists(false));
        }
        match p {
            Pred::Eq(l) => eq(l, v),
            Pred::Ne(l) => !eq(l, v),
            Pred::In(ls) => ls.iter().any(|l| eq(l, v)),
            Pred::NotIn(ls) => !ls.iter().any(|l| eq(l, v)),
            Pred::Cmp(op, l) => match (ord_key(v), lit_key(l)) {
                (Some(a), Some(b)) => match op {
                    CmpOp::Gt => a > b,
                    CmpOp::Gte => a >= b,
                    CmpOp::Lt => a < b,
                    CmpOp::Lte => a <= b,
                },
                _ => false,
            },
            Pred::Between(lo, hi) => match (ord_key(v), lit_key(lo), lit_key(hi)) {
                (Some(a), Some(lo), Some(hi)) => lo <= a && a <= hi,
                _ => false,
            },
            Pred::Contains(needles) => match v {
                V::Text(s) => needles.iter().any(|n| contains_ci(s, n)),
                _ => false,
            },
            Pred::StartsWith(needles) => match v {
                V::Text(s) => needles.iter().any(|n| {
                    s.len() >= n.len() && s.as_bytes()[..n.len()].eq_ignore_ascii_case(n.as_bytes())
                }),
                _ => false,
            },
            Pred::Exists(e) => *e,
            Pred::WithinDays(d) => match v {
                V::Date(t) => *t <= self.as_of && ((self.as_of - t) as f64) <= d * DAY as f64,
                _ => false,
            },
            Pred::OlderThanDays(d) => match v {
                V::Date(t) => ((self.as_of - t) as f64) > d * DAY as f64,
                _ => false,
            },
        }
    }

    fn cond(&self, c: &Cond, contact: &Contact, account: Option<&Account>, st: &[Slot]) -> bool {
        match c {
            Cond::Attr { scope, slot, pred } => {
                let value = match scope {
                    Scope::Contact => contact.attrs.get(*slot),
                    Scope::Account => account.and_then(|a| a.attrs.get(*slot)),
                };
                let v = match value.unwrap_or(&Value::Missing) {
                    Value::Missing => V::Missing,
                    Value::Text(s) => V::Text(s),
                    Value::Number(n) => V::Number(*n),
                    Value::Bool(b) => V::Bool(*b),
                    Value::Date(d) => V::Date(*d),
                };
                self.pred(pred, &v)
            }
            Cond::Count { tracker, min, max } => {
                let n = st[*tracker].load().count();
                *min <= n && n <= *max
            }
            Cond::Rate {
                num,
                den,
                op,
                value,
            } => {
                let d = st[*den].load().count();
                if d == 0 {
                    return false;
                }
                let r = f64::from(st[*num].load().count()) / f64::from(d);
                match op {
                    RateOp::Above => r > *value,
                    RateOp::AtLeast => r >= *value,
                    RateOp::Below => r < *value,
                    RateOp::AtMost => r <= *value,
                }
            }
            Cond::All(l) => l.iter().all(|x| self.cond(x, contact, account, st)),
            Cond::Any(l) => l.iter().any(|x| self.cond(x, contact, account, st)),
            Cond::Not(x) => !self.cond(x, contact, account, st),
            Cond::Prop { .. } => false,
        }
    }

    /// Scores one contact from its state. Pure: the same inputs give the same [`Scored`].
    /// Percentile routing needs the whole population; apply it afterwards with a [`Ranking`].
    pub fn finish(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        state: &ContactState,
    ) -> Scored {
        self.finish_accs(contact, account, &state.accs)
    }

    /// [`Scorer::finish`] for contact `index` of a [`StateTable`].
    pub fn finish_at(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        table: &StateTable,
        index: usize,
    ) -> Scored {
        self.finish_accs(contact, account, table.row(index))
    }

    /// The segment whose rules apply: the first whose condition holds, else the default (0).
    fn profile_of(&self, contact: &Contact, account: Option<&Account>, st: &[Slot]) -> usize {
        self.model
            .profiles
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, p)| {
                p.when
                    .as_ref()
                    .is_some_and(|w| self.cond(w, contact, account, st))
            })
            .map_or(0, |(i, _)| i)
    }

    /// What one fired rule adds: (occurrences, before decay, after decay, after the rule cap,
    /// latest event).
    fn rule_points(&self, rule: &Rule, st: &[Slot]) -> RuleHit {
        let last = rule
            .positive
            .iter()
            .filter_map(|&t| st[t].load().last(self.as_of))
            .max();
        let (occurrences, before, after) = match rule.per_occurrence {
            Some(t) => {
                let a = st[t].load();
                (
                    Some(a.count()),
                    rule.points as f64 * f64::from(a.count()),
                    a.sum(),
                )
            }
            None => {
                let f = last.map_or(1.0, |t| rule.decay.factor(self.as_of - t));
                (None, rule.points as f64, rule.points as f64 * f)
            }
        };
        let points = match rule.max_points {
            Some(cap) if cap > 0.0 => after.min(cap),
            Some(cap) => after.max(cap),
            None => after,
        };
        RuleHit {
            occurrences,
            before,
            after,
            points,
            last,
        }
    }

    /// A category's points after its cap, and what they add to the score.
    fn category_points(&self, c: &Category, raw: f64) -> (f64, f64) {
        let capped = match c.cap {
            Some(cap) => raw.min(cap),
            None => raw,
        };
        let points = match (self.model.scale, c.weight, c.cap) {
            (Scale::Normalized, Some(w), Some(cap)) => w * capped / cap,
            _ => capped,
        };
        (capped, points)
    }

    fn composite(&self, total: f64) -> f64 {
        round2(match self.model.scale {
            Scale::Normalized => total.clamp(0.0, 100.0),
            Scale::Raw => total,
        })
    }

    /// Just the score, segment and disqualification: what ranking and account roll-ups need,
    /// without building an explanation.
    pub fn brief_at(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        table: &StateTable,
        index: usize,
    ) -> Brief {
        let st = table.row(index);
        let m = self.model;
        let profile_index = self.profile_of(contact, account, st);
        let mut raw = [0.0f64; 16];
        let mut spill = Vec::new();
        let raw: &mut [f64] = if m.categories.len() <= raw.len() {
            &mut raw[..m.categories.len()]
        } else {
            spill.resize(m.categories.len(), 0.0);
            &mut spill
        };
        let rules = &m.profiles[profile_index].rules;
        let maskable = rules.len() <= 64 && m.disqualify.len() <= 64;
        let mut fired = 0u64;
        for (k, &ri) in rules.iter().enumerate() {
            let rule = &m.rules[ri];
            if self.cond(&rule.when, contact, account, st) {
                raw[rule.category] += self.rule_points(rule, st).points;
                if maskable {
                    fired |= 1 << k;
                }
            }
        }
        let total: f64 = m
            .categories
            .iter()
            .zip(raw.iter())
            .map(|(c, &r)| round2(self.category_points(c, r).1))
            .sum();
        let mut disq = 0u64;
        for (k, d) in m.disqualify.iter().enumerate() {
            if self.cond(&d.when, contact, account, st) {
                disq |= 1 << (k % 64);
            }
        }
        Brief {
            score: self.composite(total),
            segment_index: profile_index,
            disqualified: disq != 0,
            masks: maskable.then_some((fired, disq)),
        }
    }

    /// Evaluates a contact once: the headline, and every fired rule in `fired` (cleared first).
    /// [`Scorer::finish`] and [`Scorer::headline_at`] are both this, decorated differently.
    fn evaluate(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        st: &[Slot],
        fired: &mut Vec<(usize, RuleHit)>,
        known: Option<&Brief>,
    ) -> Headline<'m> {
        let m: &'m Model = self.model;
        // A brief of this same state already knows the segment and which conditions held.
        let known = known.and_then(|b| Some((b.segment_index, b.masks?)));
        let profile_index = match known {
            Some((p, _)) => p,
            None => self.profile_of(contact, account, st),
        };
        let profile = &m.profiles[profile_index];
        let holds = |k: usize, c: &Cond| match known {
            Some((_, (rules, _))) => rules & (1 << k) != 0,
            None => self.cond(c, contact, account, st),
        };

        fired.clear();
        let mut raw = [0.0f64; 16];
        let mut spill = Vec::new();
        let raw: &mut [f64] = if m.categories.len() <= raw.len() {
            &mut raw[..m.categories.len()]
        } else {
            spill.resize(m.categories.len(), 0.0);
            &mut spill
        };
        let mut moment: Option<(UnixSeconds, u32, usize)> = None;
        for (k, &ri) in profile.rules.iter().enumerate() {
            let rule = &m.rules[ri];
            if !holds(k, &rule.when) {
                continue;
            }
            // Only a rule that matched makes a moment: one pricing view is not "2+ pricing views".
            if rule.interesting {
                for &t in &rule.positive {
                    let a = st[t].load();
                    if let Some(last) = a.last(self.as_of)
                        && moment.is_none_or(|(at, _, _)| last > at)
                    {
                        let ty = m.trackers[t].types[a.type_slot()];
                        moment = Some((last, ty as u32, ri));
                    }
                }
            }
            let hit = self.rule_points(rule, st);
            raw[rule.category] += hit.points;
            fired.push((ri, hit));
        }

        let categories: Vec<CategoryPoints> = m
            .categories
            .iter()
            .zip(raw.iter())
            .map(|(c, &r)| {
                let (capped, points) = self.category_points(c, r);
                CategoryPoints {
                    raw: round2(r),
                    capped: round2(capped),
                    points: round2(points),
                }
            })
            .collect();
        let total: f64 = categories.iter().map(|c| c.points).sum();
        let score = self.composite(total);
        let tier = profile.tiers.of(score);

        let mut grade = None;
        let mut priority = None;
        let mut grade_ready = false;
        if let Some(g) = &m.grade {
            let sum = |cats: &[usize]| cats.iter().map(|&i| categories[i].points).sum::<f64>();
            let fit = sum(&g.fit_categories);
            let eng = sum(&g.engagement_categories);
            let letter = [b'A', b'B', b'C']
                .into_iter()
                .zip(g.fit)
                .find(|(_, min)| fit >= *min)
                .map_or(b'D', |(l, _)| l);
            let digit = [b'1', b'2', b'3']
                .into_iter()
                .zip(g.engagement)
                .find(|(_, min)| eng >= *min)
                .map_or(b'4', |(d, _)| d);
            let cell = GradeCell([letter, digit]);
            priority = g
                .priority
                .iter()
                .find(|(_, cells)| cells.iter().any(|c| c.as_str() == cell.as_str()))
                .map(|(n, _)| n.as_str());
            grade_ready = g.sales_ready.iter().any(|c| c.as_str() == cell.as_str());
            grade = Some(cell);
        }
        let tier_ready = profile.routing.sales_ready_tiers.iter().any(|t| t == tier);

        let scores = m
            .named
            .iter()
            .map(|n| {
                // Raw models add points; normalized ones give the share of full marks (0–100),
                // so a category may feed a named score while weighing nothing in the main one.
                let value = round2(match m.scale {
                    Scale::Raw => n.categories.iter().map(|&i| categories[i].capped).sum(),
                    Scale::Normalized => {
                        let got: f64 = n.categories.iter().map(|&i| categories[i].capped).sum();
                        let full: f64 = n
                            .categories
                            .iter()
                            .filter_map(|&i| m.categories[i].cap)
                            .sum();
                        if full > 0.0 {
                            (got / full * 100.0).clamp(0.0, 100.0)
                        } else {
                            0.0
                        }
                    }
                });
                (value, n.tiers.as_ref().map(|t| t.of(value)))
            })
            .collect();

        let disqualified_by: Vec<usize> = m
            .disqualify
            .iter()
            .enumerate()
            .filter(|(k, d)| match known {
                Some((_, (_, disq))) => disq & (1 << (k % 64)) != 0,
                None => self.cond(&d.when, contact, account, st),
            })
            .map(|(i, _)| i)
            .collect();
        // Nothing makes a disqualified lead sales-ready; listing reasons would contradict it.
        let disqualified = !disqualified_by.is_empty();
        let (tier_ready, grade_ready) = (tier_ready && !disqualified, grade_ready && !disqualified);
        let status = if disqualified {
            Status::Disqualified
        } else if tier_ready || grade_ready {
            Status::Qualified
        } else {
            Status::Pool
        };

        let top = top_three(
            fired
                .iter()
                .map(|&(ri, hit)| (m.rules[ri].label.as_str(), round2(hit.points)))
                .filter(|&(_, p)| p != 0.0),
        );

        Headline {
            score,
            tier,
            grade,
            priority,
            status,
            segment: profile.id.as_str(),
            segment_index: profile_index,
            tier_ready,
            grade_ready,
            top_percent: None,
            percentile: None,
            categories,
            scores,
            disqualified_by,
            top_reasons: top,
            moment: moment.map(|(at, ty, ri)| HeadlineMoment {
                at,
                event: m.event_type_names[ty as usize].as_str(),
                rule: m.rules[ri].id.as_str(),
                label: m.rules[ri].label.as_str(),
            }),
        }
    }

    /// The headline of contact `index` of a [`StateTable`]: what an export row needs, borrowed
    /// from the model. `scratch` is reused between calls to avoid allocation.
    pub fn headline_at(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        table: &StateTable,
        index: usize,
        scratch: &mut Scratch,
    ) -> Headline<'m> {
        self.evaluate(contact, account, table.row(index), &mut scratch.0, None)
    }

    /// [`Scorer::headline_at`] reusing the [`Brief`] of the same contact and table: conditions
    /// it already tested are not tested again.
    pub fn headline_from(
        &self,
        contact: &Contact,
        account: Option<&Account>,
        table: &StateTable,
        index: usize,
        brief: &Brief,
        scratch: &mut Scratch,
    ) -> Headline<'m> {
        self.evaluate(
            contact,
            account,
            table.row(index),
            &mut scratch.0,
            Some(brief),
        )
    }

    fn finish_accs(&self, contact: &Contact, account: Option<&Account>, st: &[Slot]) -> Scored {
        let m = self.model;
        let mut fired = Vec::new();
        let h = self.evaluate(contact, account, st, &mut fired, None);
        let contributions = fired
            .iter()
            .map(|&(ri, hit)| {
                let rule = &m.rules[ri];
                Contribution {
                    rule: rule.id.clone(),
                    label: rule.label.clone(),
                    category: m.categories[rule.category].id.clone(),
                    kind: rule.kind,
                    condition: rule.text.clone(),
                    base_points: rule.points,
                    occurrences: hit.occurrences,
                    before_decay: round2(hit.before),
                    after_decay: round2(hit.after),
                    rule_cap: rule.max_points,
                    points: round2(hit.points),
                    last_event_at: hit.last.map(format_time),
                }
            })
            .collect();
        let categories = m
            .categories
            .iter()
            .zip(&h.categories)
            .map(|(c, p)| CategoryScore {
                id: c.id.clone(),
                label: c.label.clone(),
                raw: p.raw,
                cap: c.cap,
                capped: p.capped,
                weight: c.weight,
                points: p.points,
            })
            .collect();
        let scores = m
            .named
            .iter()
            .zip(&h.scores)
            .map(|(n, &(score, tier))| NamedScoreValue {
                id: n.id.clone(),
                label: n.label.clone(),
                score,
                tier: tier.map(str::to_owned),
            })
            .collect();
        let mut sales_ready = Vec::new();
        if h.tier_ready {
            sales_ready.push(format!("tier {}", h.tier));
        }
        if let (true, Some(g)) = (h.grade_ready, &h.grade) {
            sales_ready.push(format!("grade {}", g.as_str()));
        }
        Scored {
            id: contact.id.clone(),
            account_id: contact.account_id.clone(),
            model: m.meta.clone(),
            as_of: self.as_of_text.clone(),
            score: h.score,
            tier: h.tier.to_owned(),
            grade: h.grade.map(|g| g.as_str().to_owned()),
            priority: h.priority.map(str::to_owned),
            status: h.status,
            sales_ready,
            segment: h.segment.to_owned(),
            segment_index: h.segment_index,
            percentile: None,
            categories,
            scores,
            contributions,
            disqualified_by: h
                .disqualified_by
                .iter()
                .map(|&i| Disqualification {
                    rule: m.disqualify[i].id.clone(),
                    reason: m.disqualify[i].reason.clone(),
                })
                .collect(),
            last_interesting_moment: h.moment.map(|mo| Moment {
                at: format_time(mo.at),
                event: mo.event.into(),
                rule: mo.rule.into(),
                label: mo.label.into(),
            }),
        }
    }
}

/// Trackers whose matches are positive signals of a condition (not under `not`, not absence).
pub(crate) fn positive_trackers(c: &Cond) -> Vec<usize> {
    let mut out = Vec::new();
    fn walk(c: &Cond, out: &mut Vec<usize>) {
        match c {
            Cond::Count { tracker, max, .. } if *max > 0 => out.push(*tracker),
            Cond::Rate { num, .. } => out.push(*num),
            Cond::All(l) | Cond::Any(l) => l.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(c, &mut out);
    out
}

fn eq(l: &Lit, v: &V) -> bool {
    match (l, v) {
        // Both sides are already trimmed: attributes when parsed, properties when read.
        (Lit::Text(a), V::Text(b)) => b.eq_ignore_ascii_case(a),
        (Lit::Number(a), V::Number(b)) => a == b,
        (Lit::Bool(a), V::Bool(b)) => a == b,
        (Lit::Date(a), V::Date(b)) => a == b,
        _ => false,
    }
}

fn ord_key(v: &V) -> Option<f64> {
    match v {
        V::Number(n) => Some(*n),
        V::Date(d) => Some(*d as f64),
        _ => None,
    }
}

fn lit_key(l: &Lit) -> Option<f64> {
    match l {
        Lit::Number(n) => Some(*n),
        Lit::Date(d) => Some(*d as f64),
        _ => None,
    }
}

/// ASCII case-insensitive substring test; `needle` is already lowercase.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

pub(crate) fn round2(x: f64) -> f64 {
    // Beyond ~1.8e306 the scaling overflows; numbers that large have no cents to round.
    if !(x * 100.0).is_finite() {
        return x;
    }
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 { 0.0 } else { r }
}

/// Everyone's scores per segment, for percentile routing (send only the top N% to sales).
#[derive(Debug, Clone)]
pub struct Ranking {
    /// Non-disqualified scores per segment, as added.
    by_segment: Vec<Vec<f64>>,
    /// Per segment once finished: distinct scores ascending, and how many scores are below each.
    /// Scores have two decimals, so this is far smaller than the population and lookups stay
    /// in cache.
    distinct: Vec<(Vec<f64>, Vec<u32>, u32)>,
}

impl Ranking {
    /// An empty ranking for `model`'s segments.
    pub fn new(model: &Model) -> Self {
        Self {
            by_segment: vec![Vec::new(); model.profiles.len()],
            distinct: Vec::new(),
        }
    }

    /// Adds one scored lead. Disqualified leads are not ranked.
    pub fn add(&mut self, s: &Scored) {
        if s.status != Status::Disqualified {
            self.by_segment[s.segment_index].push(s.score);
        }
    }

    /// Adds one lead by its segment's position (0 = default, as in [`Model::segment_ids`]) and
    /// score, e.g. from stored scores. Disqualified leads are not ranked.
    pub fn add_score(&mut self, segment_index: usize, score: f64, disqualified: bool) {
        if let Some(v) = self.by_segment.get_mut(segment_index)
            && !disqualified
        {
            v.push(score);
        }
    }

    /// Adds one lead from its [`Brief`].
    pub fn add_brief(&mut self, b: &Brief) {
        if !b.disqualified {
            self.by_segment[b.segment_index].push(b.score);
        }
    }

    /// Sorts; call once after the last `add`.
    pub fn finish(&mut self) {
        self.distinct = self
            .by_segment
            .iter_mut()
            .map(|v| {
                v.sort_by(f64::total_cmp);
                let mut values = Vec::new();
                let mut below = Vec::new();
                for (i, &x) in v.iter().enumerate() {
                    if values.last() != Some(&x) {
                        values.push(x);
                        below.push(i as u32);
                    }
                }
                let n = v.len() as u32;
                *v = Vec::new();
                (values, below, n)
            })
            .collect();
    }

    /// Sets the lead's percentile within its segment and, when the segment routes the top N%,
    /// marks it sales-ready if fewer than N% of its segment score higher.
    pub fn apply(&self, model: &Model, s: &mut Scored) {
        if s.status == Status::Disqualified {
            return;
        }
        if let Some((percentile, top)) = self.place(model, s.segment_index, s.score) {
            s.percentile = Some(percentile);
            if let Some(top) = top {
                s.sales_ready.push(format!("top {top}%"));
                s.status = Status::Qualified;
            }
        }
    }

    /// [`Ranking::apply`] for a [`Headline`].
    pub fn apply_headline(&self, model: &Model, h: &mut Headline<'_>) {
        if h.status == Status::Disqualified {
            return;
        }
        if let Some((percentile, top)) = self.place(model, h.segment_index, h.score) {
            h.percentile = Some(percentile);
            if top.is_some() {
                h.top_percent = top;
                h.status = Status::Qualified;
            }
        }
    }

    /// The percentile of `score` in its segment, and the segment's top-N% when it is in it.
    fn place(&self, model: &Model, segment: usize, score: f64) -> Option<(f64, Option<f64>)> {
        let (values, below_at, n) = self.distinct.get(segment)?;
        if *n == 0 {
            return None;
        }
        // Index of the first distinct value >= score.
        let k = values.partition_point(|&x| x < score);
        let below = below_at.get(k).copied().unwrap_or(*n);
        let at_or_below = match values.get(k) {
            Some(&x) if x == score => below_at.get(k + 1).copied().unwrap_or(*n),
            _ => below,
        };
        let above = n - at_or_below;
        let n = f64::from(*n);
        let percentile = round2(f64::from(below) / n * 100.0);
        let top = model.profiles[segment]
            .routing
            .top_percent
            .filter(|&top| f64::from(above) / n * 100.0 < top);
        Some((percentile, top))
    }
}

/// Rolls contact scores up to an account score with the model's `[account]` method; `None` when
/// the model has no roll-up or `scores` is empty.
pub fn roll_up(model: &Model, scores: &[f64]) -> Option<AccountScore> {
    let cfg = model.account.as_ref()?;
    if scores.is_empty() {
        return None;
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let value = match &cfg.method {
        RollUp::Max => sorted[0],
        RollUp::Sum { cap } => {
            let s: f64 = sorted.iter().sum();
            cap.map_or(s, |c| s.min(c))
        }
        RollUp::MeanTop { top } => {
            let k = (*top).min(sorted.len());
            sorted[..k].iter().sum::<f64>() / k as f64
        }
    };
    let score = round2(value);
    Some(AccountScore {
        score,
        contacts: scores.len(),
        tier: cfg.tiers.as_ref().map(|t| t.of(score).to_owned()),
    })
}
