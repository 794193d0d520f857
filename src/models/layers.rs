//! Pieces shared by several families: token-id inputs (embedding, padding mask) and checks.

use crate::data::DataInfo;
use crate::spec::FieldError;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Bool, Device, Int, Tensor};

/// The token ids of a token-id batch: channel 0 of `[batch, time, channels]`, as integers.
pub fn token_ids(x: Tensor<3>) -> Tensor<2, Int> {
    let [b, t, _] = x.dims();
    x.narrow(2, 0, 1).reshape([b, t]).int()
}

/// The key-padding mask of token ids: `true` where the id is 0 (padding).
pub fn padding_mask(ids: Tensor<2, Int>) -> Tensor<2, Bool> {
    ids.equal_elem(0)
}

/// A token embedding `vocab -> width` when the dataset holds token ids, else `None`.
pub fn token_embedding(data: &DataInfo, width: usize, device: &Device) -> Option<Embedding> {
    data.vocab.map(|v| EmbeddingConfig::new(v, width).init(device))
}

/// Checks that `value` (the parameter `key`) is at least 1.
pub fn at_least_one(key: &str, value: usize) -> Result<(), FieldError> {
    if value == 0 { Err(FieldError::new(key, "must be at least 1")) } else { Ok(()) }
}

/// Checks that a dropout probability (the parameter `key`) is in [0, 1).
pub fn probability(key: &str, p: f64) -> Result<(), FieldError> {
    if (0.0..1.0).contains(&p) { Ok(()) } else { Err(FieldError::new(key, format!("must be in [0, 1), got {p}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn token_ids_read_channel_zero_and_mask_padding() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(TensorData::new(vec![3.0f32, 9.0, 0.0, 9.0, 5.0, 9.0], [1, 3, 2]), &device);
        let ids = token_ids(x);
        assert_eq!(ids.to_data().try_to_vec_as::<i64>().unwrap(), vec![3, 0, 5]);
        let mask = padding_mask(ids);
        assert_eq!(mask.to_data().try_to_vec::<bool>().unwrap(), vec![false, true, false]);
    }

    #[test]
    fn checks_name_the_key() {
        assert_eq!(at_least_one("hidden", 0).unwrap_err().key, "hidden");
        assert!(at_least_one("hidden", 1).is_ok());
        assert_eq!(probability("dropout", 1.0).unwrap_err().key, "dropout");
        assert!(probability("dropout", f64::NAN).is_err());
        assert!(probability("dropout", 0.0).is_ok());
    }
}
