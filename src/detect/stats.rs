//! Tail probabilities of counts, the statistics alerts are scored with.
//!
//! Hourly call counts of an identity are over-dispersed (bursts, retries, batch sizes), so
//! the volume model is a negative binomial with the mean from the identity's own rhythm and
//! the dispersion estimated from its history; with no over-dispersion it is a Poisson.

use statrs::distribution::{DiscreteCDF, NegativeBinomial, Poisson};

/// Smallest mean a model is given: an identity that was never active at some hour still
/// has a small chance of being so.
pub const MIN_MEAN: f64 = 0.01;

/// P(X ≥ k) for X ~ Poisson(mean).
pub fn poisson_tail(k: u64, mean: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    match Poisson::new(mean.max(MIN_MEAN)) {
        Ok(d) => d.sf(k - 1).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

/// P(X ≥ k) for a negative binomial with this mean and variance `mean * dispersion`
/// (`dispersion` ≥ 1; at 1 it is a Poisson).
pub fn negative_binomial_tail(k: u64, mean: f64, dispersion: f64) -> f64 {
    let mean = mean.max(MIN_MEAN);
    if dispersion <= 1.0 + 1e-9 {
        return poisson_tail(k, mean);
    }
    if k == 0 {
        return 1.0;
    }
    // Variance mean + mean²/r = mean·dispersion gives r = mean / (dispersion − 1); statrs
    // counts failures before r successes with success probability p = r / (r + mean).
    let r = mean / (dispersion - 1.0);
    let p = r / (r + mean);
    match NegativeBinomial::new(r, p) {
        Ok(d) => d.sf(k - 1).clamp(0.0, 1.0),
        Err(_) => poisson_tail(k, mean),
    }
}

/// A p-value written for people: `3.2e-9`, or `< 1e-300` when it underflows.
pub fn p_text(p: f64) -> String {
    if p <= 0.0 { "< 1e-300".to_owned() } else { format!("{p:.1e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-6
    }

    #[test]
    fn poisson_tails_match_known_values() {
        // 1 − Σ_{i<10} e^{-2} 2^i / i! = 4.649807e-05 (by exact summation).
        assert!(close(poisson_tail(10, 2.0), 4.649_807_501_8e-5), "{}", poisson_tail(10, 2.0));
        // P(X ≥ 1) = 1 − e^{-3}.
        assert!(close(poisson_tail(1, 3.0), 1.0 - (-3.0f64).exp()));
        assert_eq!(poisson_tail(0, 5.0), 1.0);
    }

    #[test]
    fn negative_binomial_tails_match_known_values_and_are_heavier_than_poisson() {
        // Mean 2, dispersion 2: r = 2, p = 0.5; P(X ≥ 10) = 1 − Σ_{i<10} C(i+1, i) 0.5^{i+2}
        // = 0.005859375 (by exact summation: 1 − 0.994140625).
        let t = negative_binomial_tail(10, 2.0, 2.0);
        assert!(close(t, 0.005_859_375), "{t}");
        assert!(t > poisson_tail(10, 2.0));
        assert_eq!(negative_binomial_tail(7, 2.0, 1.0), poisson_tail(7, 2.0));
    }

    #[test]
    fn a_never_active_hour_still_has_a_finite_tail() {
        let t = poisson_tail(3, 0.0);
        assert!(t > 0.0 && t < 1e-6, "{t}");
    }
}
