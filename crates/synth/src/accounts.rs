//! Companies: drawn once up front (contacts pick from them at random), written
//! to accounts.csv, and kept in memory in a compact form.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::fmt::{digits, push_field, push_padded, push_u64};
use crate::sample::{Cdf, normal};
use crate::tables::{COUNTRIES, INDUSTRIES, NAME_ROOTS, NAME_STEMS, NAME_SUFFIXES};

/// One company, as contacts need it.
pub(crate) struct Account {
    /// E-mail domain, unique across accounts.
    pub domain: String,
    pub industry: usize,
    pub employees: u32,
    pub country: usize,
    pub city: usize,
}

/// Draws (country, city) pairs with the account location distribution.
pub(crate) struct Locations {
    country: Cdf<10>,
    /// Cumulative city weights per country.
    cities: Vec<Vec<f64>>,
}

impl Locations {
    pub(crate) fn new() -> Self {
        let cities = COUNTRIES
            .iter()
            .map(|c| {
                let mut acc = 0.0;
                c.cities
                    .iter()
                    .map(|(_, w)| {
                        acc += w;
                        acc
                    })
                    .collect()
            })
            .collect();
        Locations {
            country: Cdf::new(|i| COUNTRIES[i].weight),
            cities,
        }
    }

    pub(crate) fn draw(&self, rng: &mut ChaCha8Rng) -> (usize, usize) {
        let country = self.country.draw(rng);
        let c = &self.cities[country];
        let x = rng.random::<f64>() * c[c.len() - 1];
        (
            country,
            c.iter().position(|&v| x < v).unwrap_or(c.len() - 1),
        )
    }
}

/// The `k`-th e-mail domain tried for a company whose plain domain label is
/// `base`: first the ways real companies dodge a taken name, then numbers.
fn domain_variant(base: &str, suffix: &str, k: u32, tld: &str) -> String {
    match k {
        0 => format!("{base}{tld}"),
        1 => format!("{base}{}{tld}", suffix.to_ascii_lowercase()),
        2 => format!("get{base}{tld}"),
        3 => format!("{base}hq{tld}"),
        4 => format!("try{base}{tld}"),
        5 => format!("{base}app{tld}"),
        _ => format!("{base}{}{tld}", k - 4),
    }
}

/// Writes `n` accounts.csv rows (ids `acc-000001`...) through `put` and
/// returns the accounts.
pub(crate) fn make_accounts<E>(
    n: usize,
    locations: &Locations,
    rng: &mut ChaCha8Rng,
    mut put: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Vec<Account>, E> {
    let width = id_width(n);
    let industries = Cdf::<12>::new(|i| INDUSTRIES[i].weight);
    let mut accounts = Vec::with_capacity(n);
    // Lookups only (never iterated), so they cannot affect the output. They
    // keep e-mail domains unique when company names repeat: the next variant
    // to try per base domain, and every domain handed out.
    let mut next_variant: HashMap<String, u32> = HashMap::new();
    let mut issued: HashSet<String> = HashSet::new();
    let mut buf = Vec::with_capacity(128);
    for i in 0..n {
        let stem = NAME_STEMS[rng.random_range(0..NAME_STEMS.len() as u32) as usize];
        let root = NAME_ROOTS[rng.random_range(0..NAME_ROOTS.len() as u32) as usize];
        let suffix = NAME_SUFFIXES[rng.random_range(0..NAME_SUFFIXES.len() as u32) as usize];
        let industry = industries.draw(rng);
        let (country, city) = locations.draw(rng);
        // Log-normal size, median 40 employees: most leads come from small
        // companies, a few from very large ones.
        let employees = (40f64.ln() + 2.0 * normal(rng))
            .exp()
            .round()
            .clamp(1.0, 100_000.0) as u32;
        let revenue_noise = (0.5 * normal(rng)).exp();
        let revenue =
            f64::from(employees) * INDUSTRIES[industry].revenue_per_employee * revenue_noise;
        // Revenue is reported to the nearest thousand dollars.
        let revenue = ((revenue / 1000.0).round() as u64).max(1) * 1000;

        let name = format!("{stem}{root} {suffix}");
        let base = format!("{}{root}", stem.to_ascii_lowercase());
        let tld = COUNTRIES[country].tld;
        let next = next_variant.entry(format!("{base}{tld}")).or_insert(0);
        let domain = loop {
            let candidate = domain_variant(&base, suffix, *next, tld);
            *next += 1;
            if issued.insert(candidate.clone()) {
                break candidate;
            }
        };

        buf.clear();
        push_account_id(&mut buf, i, width);
        buf.push(b',');
        push_field(&mut buf, &name);
        buf.push(b',');
        push_field(&mut buf, INDUSTRIES[industry].name);
        buf.push(b',');
        push_u64(&mut buf, u64::from(employees));
        buf.push(b',');
        push_u64(&mut buf, revenue);
        buf.push(b',');
        push_field(&mut buf, COUNTRIES[country].code);
        buf.push(b',');
        push_field(&mut buf, COUNTRIES[country].cities[city].0);
        buf.push(b'\n');
        put(&buf)?;
        accounts.push(Account {
            domain,
            industry,
            employees,
            country,
            city,
        });
    }
    Ok(accounts)
}

/// Zero-padded width of account ids: fits the count, at least 6 digits.
pub(crate) fn id_width(n_accounts: usize) -> usize {
    digits(n_accounts as u64).max(6)
}

/// Appends the id of the account at (0-based) `index`.
pub(crate) fn push_account_id(buf: &mut Vec<u8>, index: usize, width: usize) {
    buf.extend_from_slice(b"acc-");
    push_padded(buf, index as u64 + 1, width);
}

/// Picks a contact's account; larger companies have more people in the CRM.
pub(crate) struct AccountPicker {
    cumulative: Vec<f64>,
}

impl AccountPicker {
    pub(crate) fn new(accounts: &[Account]) -> Self {
        let mut total = 0.0;
        let cumulative = accounts
            .iter()
            .map(|a| {
                total += f64::from(a.employees).powf(0.35);
                total
            })
            .collect();
        AccountPicker { cumulative }
    }

    pub(crate) fn draw(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}
