//! One contact's behavioural events, driven by its latent intent: how many,
//! when, which types and properties, rendered straight into a reusable byte
//! buffer (no allocation per event once the buffers have grown).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson};

use crate::fmt::TsFormatter;
use crate::sample::{Cdf, exponential, index, laplace, lerp, sigmoid};
use crate::tables::*;

/// How strongly intent scales a contact's event count: `exp(ACTIVITY * intent)`.
const ACTIVITY: f64 = 0.5;
/// Shape of the per-contact Gamma activity multiplier (mean 1). 1 is an
/// exponential spread: many near-silent contacts, a tail of very active ones.
const ACTIVITY_SHAPE: f64 = 1.0;
/// Hard cap on one contact's events, which bounds the per-contact buffers.
const MAX_EVENTS_PER_CONTACT: u64 = 5_000;
/// Spread (Laplace scale, seconds) of events around a buying-burst centre.
const BURST_SCALE: f64 = 4.0 * SECS_PER_DAY;
/// First event at least this long after `created_at` (seconds).
const FIRST_EVENT_DELAY: i64 = 60;

const SECS_PER_DAY: f64 = 86_400.0;

/// Latent "hotness" in [0, 1] derived from intent; interpolates behaviour
/// tables between a cold and a warm contact.
pub(crate) fn hotness(intent: f64) -> f64 {
    sigmoid(1.5 * intent - 1.5)
}

/// What drives one contact's behaviour.
pub(crate) struct Person {
    /// Latent intent (standard-normal-ish).
    pub intent: f64,
    /// `created_at`, Unix seconds; all events come later.
    pub created: i64,
    /// Students and the unemployed: careers pages rather than pricing.
    pub job_seeker: bool,
}

/// What the outcome needs to know about a contact's events.
pub(crate) struct Activity {
    pub events: u64,
    /// Time of the last strong buying signal (pricing view, demo request or
    /// demo form, meeting, call, trial signup).
    pub last_strong: Option<i64>,
    pub last_event: Option<i64>,
}

/// Event generator with the tables shared by all contacts and the reusable
/// per-contact buffers.
pub(crate) struct EventGen {
    mean: f64,
    activity_norm: f64,
    gamma: Gamma<f64>,
    burst: Cdf<12>,
    page_burst: Cdf<9>,
    campaign_burst: Cdf<6>,
    form_burst: Cdf<4>,
    asset_burst: Cdf<4>,
    /// `timestamp * 2 + is_burst` of each event, sorted.
    times: Vec<i64>,
    buf: Vec<u8>,
}

impl EventGen {
    pub(crate) fn new(events_per_contact: f64) -> Self {
        // E[exp(ACTIVITY * intent)] with intent = lead-source shift + N(0, 1):
        // dividing by it makes the activity multiplier average 1, so the mean
        // event count matches the option.
        let ls_total: f64 = LEAD_SOURCES.iter().map(|l| l.weight).sum();
        let shifted: f64 = LEAD_SOURCES
            .iter()
            .map(|l| l.weight * (ACTIVITY * l.intent).exp())
            .sum();
        EventGen {
            mean: events_per_contact,
            activity_norm: (ACTIVITY * ACTIVITY / 2.0).exp() * shifted / ls_total,
            gamma: Gamma::new(ACTIVITY_SHAPE, 1.0 / ACTIVITY_SHAPE).expect("valid gamma"),
            burst: Cdf::new(|i| BURST[i].1),
            page_burst: Cdf::new(|i| PAGE_BURST[i]),
            campaign_burst: Cdf::new(|i| CAMPAIGN_BURST[i]),
            form_burst: Cdf::new(|i| FORM_BURST[i]),
            asset_burst: Cdf::new(|i| ASSET_BURST[i]),
            times: Vec::new(),
            buf: Vec::with_capacity(1 << 16),
        }
    }

    /// The rows rendered by the last [`Self::generate`] call.
    pub(crate) fn rows(&self) -> &[u8] {
        &self.buf
    }

    /// Generates one contact's events, timestamps in `(created, last]`,
    /// rendering them as events.csv rows for contact `id`.
    pub(crate) fn generate(
        &mut self,
        rng: &mut ChaCha8Rng,
        id: &[u8],
        person: &Person,
        last: i64,
        ts: &TsFormatter,
    ) -> Activity {
        let intent = person.intent;
        let hot = hotness(intent);
        let n_events = self.count(rng, intent);
        self.place(
            rng,
            n_events,
            intent,
            hot,
            person.created + FIRST_EVENT_DELAY,
            last,
        );

        let bg = Cdf::<18>::new(|k| lerp(BACKGROUND[k].1, BACKGROUND[k].2, hot));
        let bg_no_email = Cdf::<18>::new(|k| {
            if BACKGROUND[k].0.is_email() {
                0.0
            } else {
                lerp(BACKGROUND[k].1, BACKGROUND[k].2, hot)
            }
        });
        let job_seeker = person.job_seeker;
        let pages = Cdf::<9>::new(|k| {
            let w = lerp(PAGE_BACKGROUND[k].0, PAGE_BACKGROUND[k].1, hot);
            match (job_seeker, k) {
                (true, PAGE_CAREERS) => w * 8.0,
                (true, PAGE_PRICING) => w * 0.2,
                _ => w,
            }
        });
        let campaigns =
            Cdf::<6>::new(|k| lerp(CAMPAIGN_BACKGROUND[k].0, CAMPAIGN_BACKGROUND[k].1, hot));
        let forms = Cdf::<4>::new(|k| lerp(FORM_BACKGROUND[k].0, FORM_BACKGROUND[k].1, hot));
        let assets = Cdf::<4>::new(|k| lerp(ASSET_BACKGROUND[k].0, ASSET_BACKGROUND[k].1, hot));
        // Share of post-trial events that happen inside the product.
        let p_app = 0.15 + 0.35 * hot;

        // State that keeps a sequence causally consistent.
        let mut unsubscribed = false;
        let mut trial = false;
        let mut webinars_open = 0u32;
        let mut demos_open = 0u32;
        let mut activity = Activity {
            events: n_events,
            last_strong: None,
            last_event: None,
        };
        self.buf.clear();
        for &packed in &self.times {
            let t = packed >> 1;
            let burst = packed & 1 == 1;
            let u = rng.random::<f64>();
            let mut ev = if burst {
                BURST[self.burst.sample(u)].0
            } else if unsubscribed {
                BACKGROUND[bg_no_email.sample(u)].0
            } else {
                BACKGROUND[bg.sample(u)].0
            };
            if trial && rng.random::<f64>() < p_app {
                let v = rng.random::<f64>();
                ev = if v < 0.5 {
                    Ev::TaskCreated
                } else if v < 0.75 {
                    Ev::ProjectCreated
                } else {
                    Ev::ContactsImported
                };
            }
            ev = match ev {
                Ev::WebinarAttended if webinars_open == 0 => Ev::WebinarRegistered,
                Ev::DemoCancelled if demos_open == 0 => Ev::PageView,
                Ev::TrialSignup if trial => Ev::TaskCreated,
                other => other,
            };

            let (mut url, mut campaign, mut form, mut asset) = ("", "", "", "");
            let mut strong = false;
            let u = rng.random::<f64>();
            let v = rng.random::<f64>();
            // Burst events use the buying-mode tables, others the contact's own.
            let page = |u: f64| {
                if burst {
                    self.page_burst.sample(u)
                } else {
                    pages.sample(u)
                }
            };
            match ev {
                Ev::EmailOpen | Ev::EmailClick | Ev::EmailReply | Ev::EmailUnsubscribed => {
                    let mut c = if burst {
                        self.campaign_burst.sample(u)
                    } else {
                        campaigns.sample(u)
                    };
                    if unsubscribed {
                        // Only one-to-one sales mail still reaches them.
                        c = CAMPAIGN_SALES;
                    } else if c == CAMPAIGN_ONBOARDING && !trial {
                        c = CAMPAIGN_NURTURING;
                    }
                    campaign = CAMPAIGNS[c];
                    if ev == Ev::EmailClick {
                        let group = PAGE_GROUPS[page(v)];
                        url = group[index(group.len(), rng.random())];
                    }
                    if ev == Ev::EmailUnsubscribed {
                        unsubscribed = true;
                    }
                }
                Ev::PageView => {
                    let g = page(u);
                    url = PAGE_GROUPS[g][index(PAGE_GROUPS[g].len(), v)];
                    strong = g == PAGE_PRICING;
                }
                Ev::FormSubmit => {
                    let f = if burst {
                        self.form_burst.sample(u)
                    } else {
                        forms.sample(u)
                    };
                    form = FORMS[f];
                    strong = f == FORM_DEMO;
                }
                Ev::ContentDownload => {
                    let a = if burst {
                        self.asset_burst.sample(u)
                    } else {
                        assets.sample(u)
                    };
                    asset = ASSETS[a];
                }
                Ev::WebinarRegistered => webinars_open += 1,
                Ev::WebinarAttended => webinars_open -= 1,
                Ev::DemoRequested => {
                    demos_open += 1;
                    strong = true;
                }
                Ev::DemoCancelled => demos_open -= 1,
                Ev::MeetingBooked | Ev::CallBooked => strong = true,
                Ev::TrialSignup => {
                    trial = true;
                    strong = true;
                }
                _ => {}
            }
            if strong {
                activity.last_strong = Some(t);
            }
            activity.last_event = Some(t);

            self.buf.extend_from_slice(id);
            self.buf.push(b',');
            self.buf.extend_from_slice(ev.name().as_bytes());
            self.buf.push(b',');
            ts.push(&mut self.buf, t);
            for field in [url, campaign, form, asset] {
                self.buf.push(b',');
                self.buf.extend_from_slice(field.as_bytes());
            }
            self.buf.push(b'\n');
        }
        activity
    }

    /// Number of events: Poisson around the option's mean, scaled by intent
    /// and by a Gamma activity multiplier (so, negative binomial overall).
    fn count(&self, rng: &mut ChaCha8Rng, intent: f64) -> u64 {
        let lambda =
            self.mean * (ACTIVITY * intent).exp() / self.activity_norm * self.gamma.sample(rng);
        let lambda = lambda.min(4.0 * MAX_EVENTS_PER_CONTACT as f64);
        let n = if lambda > 0.0 {
            Poisson::new(lambda).map_or(0.0, |d| d.sample(rng)) as u64
        } else {
            0
        };
        n.min(MAX_EVENTS_PER_CONTACT)
    }

    /// Fills `times` with `n` sorted event times in `[lo, hi]`.
    fn place(&mut self, rng: &mut ChaCha8Rng, n: u64, intent: f64, hot: f64, lo: i64, hi: i64) {
        let (lo_f, hi_f) = (lo as f64, hi as f64);
        let span = hi_f - lo_f;
        // Background timing: lo + u^shape * span. High intent pushes activity
        // towards as_of; low intent bunches it right after creation so it has
        // faded out long before as_of.
        let shape = (-0.9 * intent).exp().clamp(0.15, 6.0);
        // The buying burst sits near as_of for high intent, early for low.
        let burst_pos = rng
            .random::<f64>()
            .powf((-1.2 * intent).exp().clamp(0.1, 8.0));
        let burst_centre = lo_f + burst_pos * span;
        let p_burst = 0.02 + 0.30 * hot;
        self.times.clear();
        for _ in 0..n {
            let burst = rng.random::<f64>() < p_burst;
            let t = if burst {
                burst_centre + laplace(rng.random(), BURST_SCALE)
            } else {
                lo_f + rng.random::<f64>().powf(shape) * span
            };
            // Reflect burst spill-over at the window edges rather than clamp
            // it, which would pile events up on as_of's last second.
            let t = if t > hi_f { 2.0 * hi_f - t } else { t };
            let t = if t < lo_f { 2.0 * lo_f - t } else { t };
            // The burst flag rides in the low bit so one sort orders both.
            self.times
                .push((t as i64).clamp(lo, hi) * 2 + i64::from(burst));
        }
        self.times.sort_unstable();
    }
}

/// When a converter's deal closes: a few days after its last buying signal
/// (or after its last touch when there was none), never after `last`.
pub(crate) fn conversion_time(
    rng: &mut ChaCha8Rng,
    activity: &Activity,
    created: i64,
    last: i64,
) -> i64 {
    let (anchor, mean_delay) = match (activity.last_strong, activity.last_event) {
        (Some(t), _) => (t, 5.0 * SECS_PER_DAY),
        (None, Some(t)) => (t, 10.0 * SECS_PER_DAY),
        (None, None) => (created, 20.0 * SECS_PER_DAY),
    };
    let delay = 3600.0 + exponential(rng.random(), mean_delay);
    let mut at = anchor + delay as i64;
    if at > last {
        // It would close after as_of: spread it over the time left instead.
        at = anchor + (rng.random::<f64>() * (last - anchor) as f64) as i64;
    }
    at.clamp(anchor, last)
}
