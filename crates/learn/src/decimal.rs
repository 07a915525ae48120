//! Numbers as fixed-point text, the bytes `format!("{x:.N}")` (and `{x:+.N}`) writes, without
//! its slow paths. The standard formatter works from the exact binary value and, for some
//! values, falls back to big-number arithmetic; predictions print millions of probabilities
//! and contributions. Here the value is scaled by `10^N` in floating point, which is exact
//! enough to round correctly unless the scaled value lies within rounding error of a half;
//! those values (and very large ones, infinities and NaN) go to the standard formatter.

use std::fmt::Write as _;

const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const POW10_INT: [u64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Scaled values from here up go to the standard formatter: below it the product's rounding
/// error is at most 2⁻²¹, far inside the margin kept around halves.
const LIMIT: f64 = 4_294_967_296.0;
/// How near a half the scaled value may come before the exact value could be on its other
/// side.
const MARGIN: f64 = 1e-5;

/// Appends `x` with `decimals` (at most 9) digits after the point, as `{x:.decimals$}` does,
/// or `{x:+.decimals$}` when `plus`.
pub fn push_fixed(out: &mut String, x: f64, decimals: usize, plus: bool) {
    debug_assert!(decimals < POW10.len());
    let a = x.abs();
    let m = a * POW10[decimals];
    let below = m.floor();
    if m.is_nan() || m >= LIMIT || ((m - below) - 0.5).abs() < MARGIN {
        let _ = if plus {
            write!(out, "{x:+.decimals$}")
        } else {
            write!(out, "{x:.decimals$}")
        };
        return;
    }
    let k = m.round() as u64;
    if x.is_sign_negative() {
        out.push('-');
    } else if plus {
        out.push('+');
    }
    let unit = POW10_INT[decimals];
    out.push_str(itoa::Buffer::new().format(k / unit));
    if decimals > 0 {
        out.push('.');
        let mut digits = [b'0'; 9];
        let mut f = k % unit;
        for d in digits[..decimals].iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        for &d in &digits[..decimals] {
            out.push(d as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f64) {
        for decimals in 0..=9 {
            for plus in [false, true] {
                let mut s = String::new();
                push_fixed(&mut s, x, decimals, plus);
                let want = if plus {
                    format!("{x:+.decimals$}")
                } else {
                    format!("{x:.decimals$}")
                };
                assert_eq!(s, want, "{x:e} with {decimals} decimals, plus {plus}");
            }
        }
    }

    #[test]
    fn writes_the_standard_formatters_bytes() {
        // Ties in binary (exact halves), values a hair either side of a half, zeros of both
        // signs, values that round to zero, to the next power of ten, and the edges.
        let edges = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.125,
            0.375,
            -0.125,
            0.0000005,
            0.0000015,
            0.9999995,
            0.99999949999,
            0.00499999,
            -0.001,
            -0.004,
            0.005,
            0.015,
            0.025,
            1.005,
            0.45,
            9.5,
            99.995,
            1e-300,
            5e-324,
            4294.9672955,
            429_496.729_5,
            4_294_967_295.5,
            4_294_967_296.0,
            1e15,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in edges {
            check(x);
            check(-x);
            check(f64::from_bits(x.to_bits().wrapping_add(1)));
            check(f64::from_bits(x.to_bits().wrapping_sub(1)));
        }
        // Probabilities, contributions and CSV values of every size, from a fixed sequence.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            let x = match i % 4 {
                0 => unit,
                1 => (unit - 0.5) * 8.0,
                2 => (unit - 0.5) * 10f64.powi(i % 23 - 8),
                // Decimals with few digits, as CSV files hold them.
                _ => ((unit * 1e6).round() / 1e3) - 500.0,
            };
            check(x);
        }
    }
}
