//! Whether an evaluation's leads were in the model's training data. A model scores the leads it
//! was trained on better than new ones, so an evaluation on them flatters it. The model file
//! keeps a fixed-size sample of its training ids (those whose hash falls below a cut, the same
//! cut for every file), so the share of an evaluation's leads that were trained on can be
//! estimated from the evaluation's ids below the same cut, whatever the sizes.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Training ids kept in the sample at most (16 hex digits each in the model file).
pub const SAMPLE: usize = 4096;

/// A sample of the training leads' ids: every id whose hash is below `below`, as sorted hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdSample {
    /// The cut, 16 hex digits: ids hashing below it are in the sample (all of them when the
    /// training data had at most [`SAMPLE`] distinct ids).
    pub below: String,
    /// The sampled ids' hashes, 16 hex digits each, ascending, end to end.
    pub hashes: String,
}

/// How many of an evaluation's ids fall below the sample's cut, and how many of those are in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap {
    /// Evaluation ids (distinct, not empty) below the cut.
    pub sampled: usize,
    /// Of those, ids of training leads.
    pub trained: usize,
    /// Whether every training id is in the sample (the count is exact, not an estimate).
    pub exact: bool,
}

impl Overlap {
    /// The estimated share of the evaluation's leads that were trained on.
    pub fn share(&self) -> f64 {
        if self.sampled == 0 {
            0.0
        } else {
            self.trained as f64 / self.sampled as f64
        }
    }
}

/// An id's hash: the first 8 bytes of its SHA-256 (stable across builds and machines). Spaces
/// around the id do not count.
fn id_hash(id: &str) -> u64 {
    let d = Sha256::digest(id.trim().as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The distinct hashes of the ids that are not empty, ascending.
fn hashes(ids: &[String]) -> Vec<u64> {
    let mut h: Vec<u64> = ids
        .par_iter()
        .filter(|id| !id.trim().is_empty())
        .map(|id| id_hash(id))
        .collect();
    h.par_sort_unstable();
    h.dedup();
    h
}

impl IdSample {
    /// The sample of `ids` (training rows).
    pub fn of(ids: &[String]) -> IdSample {
        let mut h = hashes(ids);
        let below = if h.len() <= SAMPLE {
            u64::MAX
        } else {
            let cut = h[SAMPLE];
            h.truncate(SAMPLE);
            cut
        };
        let mut text = String::with_capacity(16 * h.len());
        for x in &h {
            text.push_str(&format!("{x:016x}"));
        }
        IdSample {
            below: format!("{below:016x}"),
            hashes: text,
        }
    }

    /// The sample's cut and hashes, or `None` when the text is not what [`IdSample::of`] wrote.
    fn parse(&self) -> Option<(u64, Vec<u64>)> {
        let below = u64::from_str_radix(&self.below, 16).ok()?;
        if !self.hashes.len().is_multiple_of(16) || !self.hashes.is_ascii() {
            return None;
        }
        let h = (0..self.hashes.len() / 16)
            .map(|i| u64::from_str_radix(&self.hashes[16 * i..16 * i + 16], 16).ok())
            .collect::<Option<Vec<u64>>>()?;
        Some((below, h))
    }

    /// How many of `ids` (an evaluation's) were trained on, among those below the cut; `None`
    /// when the sample cannot be read.
    pub fn overlap(&self, ids: &[String]) -> Option<Overlap> {
        let (below, sample) = self.parse()?;
        let (mut sampled, mut trained) = (0, 0);
        for h in hashes(ids) {
            // With every id kept, the cut is u64::MAX and nothing hashes above it.
            if h < below || below == u64::MAX {
                sampled += 1;
                trained += usize::from(sample.binary_search(&h).is_ok());
            }
        }
        Some(Overlap {
            sampled,
            trained,
            exact: below == u64::MAX,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("lead-{i}")).collect()
    }

    #[test]
    fn few_ids_are_all_kept_and_counted_exactly() {
        let mut train = ids(0..1000);
        // Duplicates, blanks and spaces around an id do not count twice.
        train.extend(["lead-5".into(), "".into(), "  ".into(), " lead-7 ".into()]);
        let s = IdSample::of(&train);
        assert_eq!(s.below, "ffffffffffffffff");
        assert_eq!(s.hashes.len(), 16 * 1000);
        let o = s.overlap(&ids(900..1300)).unwrap();
        assert_eq!(
            o,
            Overlap {
                sampled: 400,
                trained: 100,
                exact: true
            }
        );
        assert_eq!(o.share(), 0.25);
        let none = s.overlap(&ids(5000..6000)).unwrap();
        assert_eq!((none.sampled, none.trained), (1000, 0));
    }

    #[test]
    fn many_ids_keep_a_sample_that_estimates_the_share() {
        let s = IdSample::of(&ids(0..40_000));
        assert_eq!(s.hashes.len(), 16 * SAMPLE);
        let (below, h) = s.parse().unwrap();
        assert!(h.windows(2).all(|w| w[0] < w[1]) && *h.last().unwrap() < below);
        // Half of these 20,000 leads were trained on; about a tenth of them are sampled.
        let o = s.overlap(&ids(30_000..50_000)).unwrap();
        assert!(!o.exact);
        assert!((1700..2400).contains(&o.sampled), "{o:?}");
        assert!((o.share() - 0.5).abs() < 0.05, "{o:?}");
        // The training data itself: every sampled id is a training id.
        let all = s.overlap(&ids(0..40_000)).unwrap();
        assert_eq!((all.sampled, all.trained), (SAMPLE, SAMPLE));
        // New leads only: none.
        let new = s.overlap(&ids(40_000..60_000)).unwrap();
        assert_eq!(new.trained, 0);
        assert!(new.sampled > 1000);
    }

    #[test]
    fn a_damaged_sample_is_not_read() {
        let mut s = IdSample::of(&ids(0..10));
        s.hashes.pop();
        assert_eq!(s.overlap(&ids(0..10)), None);
    }
}
