//! Holm–Bonferroni correction of the p-values of one table's comparisons (Holm 1979, "A
//! simple sequentially rejective multiple test procedure"): the adjusted p-values, as
//! `statsmodels.stats.multitest.multipletests(method="holm")` returns them.

/// Holm-adjusted p-values of `p` (the `None`s are not comparisons and stay `None`): the
/// `k`-th smallest of `m` gets `max over j <= k of min(1, (m - j + 1) p_(j))`.
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    order.sort_by(|&i, &j| p[i].unwrap_or(1.0).total_cmp(&p[j].unwrap_or(1.0)));
    let m = order.len();
    let mut out = vec![None; p.len()];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        let adjusted = ((m - k) as f64 * p[i].unwrap_or(1.0)).min(1.0);
        running = running.max(adjusted);
        out[i] = Some(running);
    }
    out
}
