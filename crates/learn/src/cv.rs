//! Stratified, seeded folds: every fold has (nearly) the same share of conversions, and the
//! same seed always gives the same folds.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// The fold (0..k) of each row: positives and negatives are shuffled apart with `seed`, then
/// dealt round-robin.
pub fn stratified_folds(y: &[f64], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; y.len()];
    let mut next = 0usize;
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| (y[i] > 0.5) == class).collect();
        idx.shuffle(&mut rng);
        for i in idx {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

/// The rows of fold `f` and the rest: (train, validation).
pub fn split(fold: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (i, &g) in fold.iter().enumerate() {
        if g == f {
            valid.push(i);
        } else {
            train.push(i);
        }
    }
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_seeded() {
        let y: Vec<f64> = (0..1000).map(|i| (i % 10 == 0) as u8 as f64).collect();
        let f = stratified_folds(&y, 5, 7);
        for k in 0..5 {
            let (_, v) = split(&f, k);
            assert_eq!(v.len(), 200);
            assert_eq!(v.iter().filter(|&&i| y[i] > 0.5).count(), 20);
        }
        assert_eq!(f, stratified_folds(&y, 5, 7));
        assert_ne!(f, stratified_folds(&y, 5, 8));
    }
}
