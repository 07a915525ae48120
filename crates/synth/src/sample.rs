//! Small sampling helpers that turn uniform draws into the distributions the
//! generator needs, without allocating (they run once or more per event).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A cumulative weight table over `N` outcomes, sampled with one uniform draw.
#[derive(Clone, Copy)]
pub(crate) struct Cdf<const N: usize> {
    c: [f64; N],
}

impl<const N: usize> Cdf<N> {
    /// Builds the table from the weight of each outcome (negative counts as 0).
    pub(crate) fn new(weight: impl Fn(usize) -> f64) -> Self {
        let mut c = [0.0; N];
        let mut acc = 0.0;
        for (i, slot) in c.iter_mut().enumerate() {
            acc += weight(i).max(0.0);
            *slot = acc;
        }
        Cdf { c }
    }

    /// Maps a uniform draw in [0, 1) to an outcome index.
    pub(crate) fn sample(&self, u: f64) -> usize {
        let x = u * self.c[N - 1];
        // Tables are tiny (<= 18 entries): a linear scan beats a binary search.
        self.c.iter().position(|&c| x < c).unwrap_or(N - 1)
    }

    /// Draws an outcome index from `rng`.
    pub(crate) fn draw(&self, rng: &mut ChaCha8Rng) -> usize {
        self.sample(rng.random())
    }
}

/// Picks an index below `len` (which must be positive) with a uniform draw.
pub(crate) fn index(len: usize, u: f64) -> usize {
    ((u * len as f64) as usize).min(len - 1)
}

/// Linear interpolation between a cold and a warm weight.
pub(crate) fn lerp(cold: f64, warm: f64, t: f64) -> f64 {
    cold + (warm - cold) * t
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Laplace-distributed offset with the given scale, from one uniform draw in
/// [0, 1).
pub(crate) fn laplace(u: f64, scale: f64) -> f64 {
    let x = 2.0 * u;
    if x < 1.0 {
        scale * (1.0 - x).ln()
    } else {
        -scale * (2.0 - x).ln()
    }
}

/// Exponential draw with the given mean, from one uniform draw in [0, 1).
pub(crate) fn exponential(u: f64, mean: f64) -> f64 {
    -mean * (1.0 - u).ln()
}

/// Standard normal draw.
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_respects_weights_and_skips_zeros() {
        let cdf = Cdf::<4>::new(|i| [1.0, 0.0, 3.0, -2.0][i]);
        assert_eq!(cdf.sample(0.0), 0);
        assert_eq!(cdf.sample(0.2499), 0);
        assert_eq!(cdf.sample(0.25), 2);
        assert_eq!(cdf.sample(0.9999), 2);
    }

    #[test]
    fn laplace_and_exponential_are_symmetric_and_positive() {
        assert_eq!(laplace(0.5, 3.0), 0.0);
        assert!((laplace(0.25, 3.0) + laplace(0.75, 3.0)).abs() < 1e-12);
        assert!(exponential(0.0, 5.0) == 0.0 && exponential(0.9, 5.0) > 0.0);
        assert_eq!(index(3, 0.999_999), 2);
    }
}
