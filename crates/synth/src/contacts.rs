//! Contacts: their observable attributes, their hidden fit and intent, and
//! whether they convert (see the crate documentation for the formula).

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::accounts::{Account, AccountPicker, Locations, push_account_id};
use crate::fmt::{TsFormatter, push_field, push_u64};
use crate::sample::{Cdf, normal, sigmoid};
use crate::tables::*;

/// Ground-truth coefficients: P(convert) = sigmoid(FIT_WEIGHT * fit +
/// INTENT_WEIGHT * intent + N(0, NOISE_SD) + INTERCEPT).
const FIT_WEIGHT: f64 = 1.0;
const INTENT_WEIGHT: f64 = 1.5;
const NOISE_SD: f64 = 0.7;
const INTERCEPT: f64 = -3.6;

/// Share of contacts located elsewhere than their account's headquarters.
const P_RELOCATED: f64 = 0.15;
const P_CITY_MISSING: f64 = 0.03;
const P_AGE_MISSING: f64 = 0.02;
/// `created_at` falls in this leading share of the window, which leaves room
/// for the contact's events.
const CREATED_SPAN: f64 = 0.9;

/// Fit contribution of company size: bigger companies buy more, up to a cap.
fn employees_fit(employees: u32) -> f64 {
    (0.5 * (f64::from(employees).log10() - 2.0)).clamp(-0.8, 0.8)
}

/// One contact, attributes and latent truth.
pub(crate) struct Contact {
    pub account: usize,
    pub role: usize,
    pub authority: usize,
    pub country: usize,
    /// City index within the country, `None` when missing.
    pub city: Option<usize>,
    pub age: Option<u64>,
    pub first: usize,
    pub last: usize,
    /// 1 for the first namesake in an account, 2 for the next, ...
    pub namesake: u32,
    pub lead_source: usize,
    /// `created_at`, Unix seconds.
    pub created: i64,
    pub intent: f64,
    pub converted: bool,
    /// Deal size in USD (0 unless converted).
    pub amount: u64,
}

/// Draws contacts one after another from the contacts random stream.
pub(crate) struct ContactGen<'a> {
    accounts: &'a [Account],
    picker: AccountPicker,
    locations: &'a Locations,
    role: Cdf<16>,
    authority: [Cdf<3>; 6],
    lead_source: Cdf<8>,
    /// (account, first name, last name) -> contacts so far. Lookups only, so
    /// its iteration order never matters; keeps e-mail addresses unique.
    namesakes: HashMap<u64, u32>,
}

impl<'a> ContactGen<'a> {
    pub(crate) fn new(accounts: &'a [Account], locations: &'a Locations) -> Self {
        ContactGen {
            accounts,
            picker: AccountPicker::new(accounts),
            locations,
            role: Cdf::new(|i| ROLES[i].weight),
            authority: std::array::from_fn(|s| Cdf::new(|a| SENIORITIES[s].authority[a])),
            lead_source: Cdf::new(|i| LEAD_SOURCES[i].weight),
            namesakes: HashMap::new(),
        }
    }

    /// Draws the next contact; `created` falls in `[start, start + 0.9 * window)`.
    pub(crate) fn draw(&mut self, rng: &mut ChaCha8Rng, start: i64, window: f64) -> Contact {
        let account = self.picker.draw(rng);
        let acc = &self.accounts[account];
        let role = self.role.draw(rng);
        let sen = ROLES[role].seniority;
        let authority = self.authority[sen].draw(rng);
        let (country, city) = if rng.random::<f64>() < P_RELOCATED {
            // Remote workers and regional offices.
            loop {
                let loc = self.locations.draw(rng);
                if loc != (acc.country, acc.city) {
                    break loc;
                }
            }
        } else {
            (acc.country, acc.city)
        };
        let city_missing = rng.random::<f64>() < P_CITY_MISSING;
        let age_missing = rng.random::<f64>() < P_AGE_MISSING;
        let (age_mean, age_sd, age_max) = if role == ROLE_STUDENT {
            (22.0, 2.5, 30.0)
        } else {
            (SENIORITIES[sen].age_mean, SENIORITIES[sen].age_sd, 70.0)
        };
        let age = (age_mean + age_sd * normal(rng))
            .round()
            .clamp(18.0, age_max) as u64;
        let first = rng.random_range(0..FIRST_NAMES.len() as u32);
        let last = rng.random_range(0..LAST_NAMES.len() as u32);
        let key = ((account as u64) << 16) | (u64::from(first) << 8) | u64::from(last);
        let namesake = self.namesakes.entry(key).or_insert(0);
        *namesake += 1;
        let namesake = *namesake;
        let lead_source = self.lead_source.draw(rng);
        let created = start + (rng.random::<f64>() * CREATED_SPAN * window) as i64;

        // Hidden ground truth.
        let fit = SENIORITIES[sen].fit
            + AUTHORITY_FIT[authority]
            + ROLES[role].fit
            + INDUSTRIES[acc.industry].fit
            + COUNTRIES[country].fit
            + employees_fit(acc.employees);
        let intent = LEAD_SOURCES[lead_source].intent + normal(rng);
        let noise = NOISE_SD * normal(rng);
        let p = sigmoid(FIT_WEIGHT * fit + INTENT_WEIGHT * intent + noise + INTERCEPT);
        let converted = rng.random::<f64>() < p;
        let amount = if converted {
            // Bigger accounts buy bigger plans; prices end in 0.
            let a = (7.0 + 0.6 * f64::from(acc.employees).ln() + 0.6 * normal(rng)).exp();
            ((a / 10.0).round() as u64).max(10) * 10
        } else {
            0
        };

        Contact {
            account,
            role,
            authority,
            country,
            city: (!city_missing).then_some(city),
            age: (!age_missing).then_some(age),
            first: first as usize,
            last: last as usize,
            namesake,
            lead_source,
            created,
            intent,
            converted,
            amount,
        }
    }

    /// Appends the contacts.csv row of `c`, whose id is `id`.
    pub(crate) fn push_row(
        &self,
        buf: &mut Vec<u8>,
        id: &[u8],
        c: &Contact,
        account_width: usize,
        ts: &TsFormatter,
    ) {
        let acc = &self.accounts[c.account];
        let (first, last) = (FIRST_NAMES[c.first], LAST_NAMES[c.last]);
        let role = &ROLES[c.role];
        buf.extend_from_slice(id);
        buf.push(b',');
        push_account_id(buf, c.account, account_width);
        buf.push(b',');
        // Names are ASCII letters, so the address needs neither escaping
        // nor quoting.
        buf.extend(first.bytes().map(|b| b.to_ascii_lowercase()));
        buf.push(b'.');
        buf.extend(last.bytes().map(|b| b.to_ascii_lowercase()));
        if c.namesake > 1 {
            push_u64(buf, u64::from(c.namesake));
        }
        buf.push(b'@');
        buf.extend_from_slice(acc.domain.as_bytes());
        buf.push(b',');
        push_field(buf, first);
        buf.push(b',');
        push_field(buf, last);
        buf.push(b',');
        push_field(buf, COUNTRIES[c.country].code);
        buf.push(b',');
        if let Some(city) = c.city {
            push_field(buf, COUNTRIES[c.country].cities[city].0);
        }
        buf.push(b',');
        if let Some(age) = c.age {
            push_u64(buf, age);
        }
        buf.push(b',');
        push_field(buf, role.name);
        buf.push(b',');
        push_field(buf, SENIORITIES[role.seniority].name);
        buf.push(b',');
        push_field(buf, INDUSTRIES[acc.industry].name);
        buf.push(b',');
        push_u64(buf, u64::from(acc.employees));
        buf.push(b',');
        push_field(buf, LEAD_SOURCES[c.lead_source].name);
        buf.push(b',');
        push_field(buf, AUTHORITIES[c.authority]);
        buf.push(b',');
        ts.push(buf, c.created);
        buf.push(b'\n');
    }
}
