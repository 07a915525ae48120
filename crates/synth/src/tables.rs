//! Static vocabularies and weight tables of the generator: who the contacts
//! are, what they do, and how much each attribute adds to the hidden fit.
//!
//! Everything here is a fixed-order array (never a map) so that sampling from
//! it is deterministic. Weights are relative; they need not sum to 100.

/// Industries with their contribution to the latent fit and the median USD
/// revenue per employee used to derive an account's revenue.
pub(crate) struct Industry {
    pub name: &'static str,
    pub weight: f64,
    pub fit: f64,
    pub revenue_per_employee: f64,
}

// Kept as aligned one-line rows: these are data tables, read by column.
#[rustfmt::skip]
pub(crate) const INDUSTRIES: [Industry; 12] = [
    Industry { name: "Software",           weight: 16.0, fit:  0.45, revenue_per_employee: 250_000.0 },
    Industry { name: "Financial Services", weight: 10.0, fit:  0.30, revenue_per_employee: 400_000.0 },
    Industry { name: "Healthcare",         weight:  9.0, fit:  0.00, revenue_per_employee: 150_000.0 },
    Industry { name: "Manufacturing",      weight: 10.0, fit: -0.05, revenue_per_employee: 200_000.0 },
    Industry { name: "Retail",             weight:  9.0, fit:  0.05, revenue_per_employee: 120_000.0 },
    Industry { name: "Education",          weight:  6.0, fit: -0.35, revenue_per_employee:  80_000.0 },
    Industry { name: "Media",              weight:  6.0, fit:  0.10, revenue_per_employee: 180_000.0 },
    Industry { name: "Telecommunications", weight:  5.0, fit:  0.15, revenue_per_employee: 350_000.0 },
    Industry { name: "Government",         weight:  4.0, fit: -0.45, revenue_per_employee: 100_000.0 },
    Industry { name: "Logistics",          weight:  7.0, fit: -0.10, revenue_per_employee: 160_000.0 },
    Industry { name: "Energy",             weight:  5.0, fit: -0.15, revenue_per_employee: 500_000.0 },
    Industry { name: "Consulting",         weight: 13.0, fit:  0.25, revenue_per_employee: 200_000.0 },
];

/// A country with its cities (and their relative weights), its share of
/// accounts, its fit contribution and the top-level domain of its companies.
pub(crate) struct Country {
    pub code: &'static str,
    pub weight: f64,
    pub fit: f64,
    pub tld: &'static str,
    pub cities: &'static [(&'static str, f64)],
}

#[rustfmt::skip]
pub(crate) const COUNTRIES: [Country; 10] = [
    Country { code: "US", weight: 40.0, fit:  0.25, tld: ".com",
              cities: &[("New York", 35.0), ("San Francisco", 25.0), ("Chicago", 20.0), ("Austin", 20.0)] },
    Country { code: "UK", weight: 15.0, fit:  0.20, tld: ".co.uk", cities: &[("London", 70.0), ("Manchester", 30.0)] },
    Country { code: "DE", weight:  8.0, fit:  0.10, tld: ".de",    cities: &[("Berlin", 55.0), ("Munich", 45.0)] },
    Country { code: "FR", weight:  6.0, fit:  0.00, tld: ".fr",    cities: &[("Paris", 75.0), ("Lyon", 25.0)] },
    Country { code: "IN", weight:  8.0, fit: -0.25, tld: ".in",    cities: &[("Bangalore", 55.0), ("Mumbai", 45.0)] },
    Country { code: "CA", weight:  6.0, fit:  0.15, tld: ".ca",    cities: &[("Toronto", 1.0)] },
    Country { code: "AU", weight:  4.0, fit:  0.10, tld: ".com.au", cities: &[("Sydney", 1.0)] },
    Country { code: "BR", weight:  4.0, fit: -0.20, tld: ".com.br", cities: &[("Sao Paulo", 1.0)] },
    Country { code: "NL", weight:  4.0, fit:  0.10, tld: ".nl",    cities: &[("Amsterdam", 1.0)] },
    Country { code: "ES", weight:  5.0, fit: -0.10, tld: ".es",    cities: &[("Madrid", 1.0)] },
];

/// Seniority levels, in the order used by [`ROLES`]. `authority` gives the
/// relative odds of decision_maker / influencer / none, which is what makes
/// purchase authority correlate with seniority.
pub(crate) struct Seniority {
    pub name: &'static str,
    pub fit: f64,
    pub authority: [f64; 3],
    pub age_mean: f64,
    pub age_sd: f64,
}

#[rustfmt::skip]
pub(crate) const SENIORITIES: [Seniority; 6] = [
    Seniority { name: "executive",  fit:  0.80, authority: [75.0, 20.0,  5.0], age_mean: 47.0, age_sd:  8.0 },
    Seniority { name: "vp",         fit:  0.70, authority: [50.0, 45.0,  5.0], age_mean: 44.0, age_sd:  7.0 },
    Seniority { name: "director",   fit:  0.50, authority: [30.0, 60.0, 10.0], age_mean: 41.0, age_sd:  7.0 },
    Seniority { name: "manager",    fit:  0.20, authority: [10.0, 60.0, 30.0], age_mean: 37.0, age_sd:  7.0 },
    Seniority { name: "individual", fit: -0.20, authority: [ 3.0, 37.0, 60.0], age_mean: 32.0, age_sd:  7.5 },
    Seniority { name: "none",       fit: -2.00, authority: [ 0.0,  5.0, 95.0], age_mean: 30.0, age_sd: 12.0 },
];

pub(crate) const AUTHORITIES: [&str; 3] = ["decision_maker", "influencer", "none"];
pub(crate) const AUTHORITY_FIT: [f64; 3] = [0.60, 0.20, -0.40];

/// Job roles. `fit` is a role-specific bonus on top of seniority: the product
/// is bought by marketing and sales people, less so by engineers.
pub(crate) struct Role {
    pub name: &'static str,
    pub weight: f64,
    pub seniority: usize,
    pub fit: f64,
    /// Students look at /careers far more than at /pricing.
    pub job_seeker: bool,
}

#[rustfmt::skip]
pub(crate) const ROLES: [Role; 16] = [
    Role { name: "CEO",               weight:  3.0, seniority: 0, fit:  0.00, job_seeker: false },
    Role { name: "CTO",               weight:  3.0, seniority: 0, fit: -0.10, job_seeker: false },
    Role { name: "CMO",               weight:  3.0, seniority: 0, fit:  0.30, job_seeker: false },
    Role { name: "CFO",               weight:  2.0, seniority: 0, fit: -0.10, job_seeker: false },
    Role { name: "VP Sales",          weight:  4.0, seniority: 1, fit:  0.20, job_seeker: false },
    Role { name: "VP Marketing",      weight:  4.0, seniority: 1, fit:  0.30, job_seeker: false },
    Role { name: "Head of Growth",    weight:  4.0, seniority: 2, fit:  0.30, job_seeker: false },
    Role { name: "Marketing Manager", weight: 12.0, seniority: 3, fit:  0.30, job_seeker: false },
    Role { name: "Sales Manager",     weight: 10.0, seniority: 3, fit:  0.20, job_seeker: false },
    Role { name: "Product Manager",   weight:  9.0, seniority: 3, fit:  0.00, job_seeker: false },
    Role { name: "Engineer",          weight: 15.0, seniority: 4, fit: -0.20, job_seeker: false },
    Role { name: "Analyst",           weight: 10.0, seniority: 4, fit:  0.00, job_seeker: false },
    Role { name: "Consultant",        weight:  8.0, seniority: 4, fit:  0.00, job_seeker: false },
    Role { name: "Designer",          weight:  8.0, seniority: 4, fit: -0.20, job_seeker: false },
    Role { name: "student",           weight:  3.0, seniority: 5, fit: -0.50, job_seeker: true },
    Role { name: "unemployed",        weight:  2.0, seniority: 5, fit: -0.50, job_seeker: true },
];

/// Index of the "student" role (younger ages).
pub(crate) const ROLE_STUDENT: usize = 14;

/// Lead sources with the shift they add to latent intent: people who come by
/// referral or book a webinar are warmer than those bought through a campaign.
pub(crate) struct LeadSource {
    pub name: &'static str,
    pub weight: f64,
    pub intent: f64,
}

#[rustfmt::skip]
pub(crate) const LEAD_SOURCES: [LeadSource; 8] = [
    LeadSource { name: "organic_search", weight: 25.0, intent:  0.00 },
    LeadSource { name: "paid_search",    weight: 15.0, intent:  0.10 },
    LeadSource { name: "referral",       weight:  8.0, intent:  0.50 },
    LeadSource { name: "webinar",        weight:  8.0, intent:  0.30 },
    LeadSource { name: "trade_show",     weight:  5.0, intent:  0.30 },
    LeadSource { name: "linkedin",       weight: 14.0, intent: -0.20 },
    LeadSource { name: "email_campaign", weight: 15.0, intent: -0.30 },
    LeadSource { name: "direct",         weight: 10.0, intent:  0.20 },
];

#[rustfmt::skip]
pub(crate) const FIRST_NAMES: [&str; 64] = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Emily", "Mark", "Sandra", "Priya", "Rahul",
    "Arjun", "Ananya", "Wei", "Li", "Hiro", "Yuki", "Lukas", "Anna", "Felix", "Sophie",
    "Jonas", "Marie", "Pierre", "Camille", "Lucas", "Chloe", "Mateo", "Sofia", "Diego", "Lucia",
    "Oliver", "Emma", "Noah", "Olivia", "Liam", "Ava", "Ethan", "Mia", "Raj", "Fatima",
    "Omar", "Leila", "Ivan", "Amara",
];

#[rustfmt::skip]
pub(crate) const LAST_NAMES: [&str; 64] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright",
    "Patel", "Sharma", "Gupta", "Singh", "Kumar", "Chen", "Wang", "Zhang", "Liu", "Tanaka",
    "Sato", "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Moreau", "Laurent", "Bernard",
    "Silva", "Santos", "Oliveira", "Costa", "Jansen", "Bakker", "Visser", "Fernandez", "Gonzalez", "Sanchez",
    "Novak", "Kowalski", "Nguyen", "Kim",
];

/// First half of a company name; capitalised, combined with [`NAME_ROOTS`].
pub(crate) const NAME_STEMS: [&str; 40] = [
    "Blue", "Nova", "Quant", "Helix", "Bright", "Iron", "Cedar", "Vertex", "Lumen", "Atlas",
    "Pixel", "Orbit", "Silver", "North", "Apex", "Crystal", "Terra", "Zen", "Delta", "Signal",
    "Hyper", "Red", "Green", "Cloud", "Data", "Sky", "Stone", "River", "Summit", "Polar", "Solar",
    "Quantum", "Vector", "Fusion", "Echo", "Nimbus", "Prism", "Rapid", "Smart", "True",
];

pub(crate) const NAME_ROOTS: [&str; 28] = [
    "wave", "forge", "stack", "point", "bridge", "path", "scale", "leaf", "core", "field", "line",
    "works", "mind", "spark", "gate", "rock", "flow", "hub", "loop", "base", "grid", "ware",
    "sphere", "link", "craft", "vista", "shift", "beam",
];

#[rustfmt::skip]
pub(crate) const NAME_SUFFIXES: [&str; 12] = [
    "Labs", "Systems", "Group", "Inc", "Technologies", "Solutions", "Partners", "Analytics", "Holdings", "Networks",
    "Co", "Ventures",
];

/// Behavioural event types; [`Ev::name`] gives the name written to events.csv.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ev {
    EmailOpen,
    EmailClick,
    EmailReply,
    EmailUnsubscribed,
    PageView,
    FormSubmit,
    ContentDownload,
    WebinarRegistered,
    WebinarAttended,
    DemoRequested,
    DemoCancelled,
    MeetingBooked,
    CallBooked,
    TrialSignup,
    TaskCreated,
    ProjectCreated,
    ContactsImported,
    LinkedinClick,
    FacebookClick,
    TradeShowVisit,
    PhoneCall,
}

impl Ev {
    /// The name written to events.csv.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ev::EmailOpen => "email_open",
            Ev::EmailClick => "email_click",
            Ev::EmailReply => "email_reply",
            Ev::EmailUnsubscribed => "email_unsubscribed",
            Ev::PageView => "page_view",
            Ev::FormSubmit => "form_submit",
            Ev::ContentDownload => "content_download",
            Ev::WebinarRegistered => "webinar_registered",
            Ev::WebinarAttended => "webinar_attended",
            Ev::DemoRequested => "demo_requested",
            Ev::DemoCancelled => "demo_cancelled",
            Ev::MeetingBooked => "meeting_booked",
            Ev::CallBooked => "call_booked",
            Ev::TrialSignup => "trial_signup",
            Ev::TaskCreated => "task_created",
            Ev::ProjectCreated => "project_created",
            Ev::ContactsImported => "contacts_imported",
            Ev::LinkedinClick => "linkedin_click",
            Ev::FacebookClick => "facebook_click",
            Ev::TradeShowVisit => "trade_show_visit",
            Ev::PhoneCall => "phone_call",
        }
    }

    /// Marketing e-mails, which stop after an unsubscribe.
    pub(crate) fn is_email(self) -> bool {
        matches!(
            self,
            Ev::EmailOpen | Ev::EmailClick | Ev::EmailReply | Ev::EmailUnsubscribed
        )
    }
}

/// Background (everyday) behaviour: weights for a cold contact and for a warm
/// one; a contact's own weights interpolate between the two by its hotness.
/// In-app events are absent on purpose: they only follow a trial signup.
pub(crate) const BACKGROUND: [(Ev, f64, f64); 18] = [
    (Ev::EmailOpen, 40.0, 28.0),
    (Ev::EmailClick, 5.0, 12.0),
    (Ev::EmailReply, 0.2, 2.0),
    (Ev::EmailUnsubscribed, 1.0, 0.05),
    (Ev::PageView, 20.0, 24.0),
    (Ev::FormSubmit, 1.0, 3.0),
    (Ev::ContentDownload, 1.2, 3.0),
    (Ev::WebinarRegistered, 0.8, 1.8),
    (Ev::WebinarAttended, 0.3, 1.5),
    (Ev::DemoRequested, 0.02, 0.35),
    (Ev::DemoCancelled, 0.01, 0.05),
    (Ev::MeetingBooked, 0.03, 0.4),
    (Ev::CallBooked, 0.02, 0.2),
    (Ev::TrialSignup, 0.02, 0.3),
    (Ev::LinkedinClick, 3.0, 3.0),
    (Ev::FacebookClick, 2.0, 1.0),
    (Ev::TradeShowVisit, 0.3, 0.6),
    (Ev::PhoneCall, 0.3, 1.5),
];

/// Buying-burst behaviour: what a contact does while actively evaluating.
pub(crate) const BURST: [(Ev, f64); 12] = [
    (Ev::PageView, 30.0),
    (Ev::DemoRequested, 3.0),
    (Ev::MeetingBooked, 6.0),
    (Ev::CallBooked, 2.0),
    (Ev::TrialSignup, 2.5),
    (Ev::EmailReply, 6.0),
    (Ev::EmailClick, 10.0),
    (Ev::FormSubmit, 6.0),
    (Ev::PhoneCall, 5.0),
    (Ev::WebinarAttended, 2.0),
    (Ev::ContentDownload, 4.0),
    (Ev::DemoCancelled, 1.5),
];

/// Page groups of the website; a group with several pages picks one uniformly.
pub(crate) const PAGE_GROUPS: [&[&str]; 9] = [
    &["/"],
    &[
        "/blog/lead-scoring-101",
        "/blog/b2b-funnel-metrics",
        "/blog/intent-data-explained",
        "/blog/crm-hygiene",
        "/blog/account-based-marketing",
        "/blog/sales-marketing-alignment",
        "/blog/predictive-analytics-guide",
        "/blog/email-deliverability-tips",
    ],
    &["/product"],
    &[
        "/product/scoring",
        "/product/segments",
        "/product/integrations",
        "/product/analytics",
        "/product/automation",
    ],
    &["/pricing"],
    &[
        "/docs/getting-started",
        "/docs/api",
        "/docs/scoring-model",
        "/docs/integrations",
        "/docs/faq",
    ],
    &["/careers"],
    &["/customers"],
    &["/contact"],
];

/// Index of the /pricing group in [`PAGE_GROUPS`].
pub(crate) const PAGE_PRICING: usize = 4;
/// Index of the /careers group in [`PAGE_GROUPS`].
pub(crate) const PAGE_CAREERS: usize = 6;

/// Background page-group weights: cold, warm (pricing and product pages
/// gain weight with hotness).
pub(crate) const PAGE_BACKGROUND: [(f64, f64); 9] = [
    (15.0, 10.0),
    (38.0, 18.0),
    (10.0, 12.0),
    (8.0, 16.0),
    (2.0, 16.0),
    (8.0, 10.0),
    (4.0, 2.0),
    (5.0, 8.0),
    (2.0, 6.0),
];

/// Page-group weights during a buying burst.
pub(crate) const PAGE_BURST: [f64; 9] = [2.0, 2.0, 10.0, 25.0, 45.0, 5.0, 0.0, 10.0, 5.0];

pub(crate) const CAMPAIGNS: [&str; 6] = [
    "newsletter",
    "nurturing",
    "onboarding",
    "sales",
    "product_update",
    "event_invite",
];
/// Index of "onboarding", only sent after a trial signup.
pub(crate) const CAMPAIGN_ONBOARDING: usize = 2;
/// Index of "sales", the only campaign that still reaches unsubscribed people.
pub(crate) const CAMPAIGN_SALES: usize = 3;
/// Index of "nurturing", which replaces onboarding before a trial.
pub(crate) const CAMPAIGN_NURTURING: usize = 1;
/// Background campaign weights: cold, warm.
pub(crate) const CAMPAIGN_BACKGROUND: [(f64, f64); 6] = [
    (40.0, 25.0),
    (22.0, 20.0),
    (8.0, 10.0),
    (3.0, 18.0),
    (15.0, 15.0),
    (12.0, 12.0),
];
pub(crate) const CAMPAIGN_BURST: [f64; 6] = [5.0, 20.0, 5.0, 55.0, 5.0, 10.0];

pub(crate) const FORMS: [&str; 4] = ["contact", "demo", "newsletter", "gated_content"];
pub(crate) const FORM_BACKGROUND: [(f64, f64); 4] =
    [(8.0, 20.0), (2.0, 15.0), (50.0, 30.0), (40.0, 35.0)];
pub(crate) const FORM_BURST: [f64; 4] = [40.0, 60.0, 0.0, 0.0];
/// Index of the "demo" form, a strong buying signal.
pub(crate) const FORM_DEMO: usize = 1;

pub(crate) const ASSETS: [&str; 4] = ["whitepaper", "ebook", "case_study", "report"];
pub(crate) const ASSET_BACKGROUND: [(f64, f64); 4] =
    [(35.0, 25.0), (35.0, 20.0), (15.0, 35.0), (15.0, 20.0)];
pub(crate) const ASSET_BURST: [f64; 4] = [20.0, 0.0, 60.0, 20.0];
