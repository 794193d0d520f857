//! Text summaries, the format of `tensorboard.plugins.text.summary_v2.text_pb`: a scalar
//! string tensor whose metadata names the `text` plugin. TensorBoard renders the string as
//! Markdown (tables and fenced code included).

use protobuf::{Message, RepeatedField};
use tensorboard_proto::plugin_text::TextPluginData;
use tensorboard_proto::summary::Summary;
use tensorboard_proto::tensor::TensorProto;
use tensorboard_proto::tensor_shape::TensorShapeProto;
use tensorboard_proto::types::DataType;

/// The text plugin's name in summary metadata.
pub const PLUGIN_NAME: &str = "text";

/// A summary holding `markdown` as a text value tagged `tag`.
pub fn summary(tag: &str, markdown: &str) -> Summary {
    let mut tensor = TensorProto::new();
    tensor.set_dtype(DataType::DT_STRING);
    tensor.set_tensor_shape(TensorShapeProto::new()); // a scalar: no dimensions
    tensor.set_string_val(RepeatedField::from_vec(vec![markdown.as_bytes().to_vec()]));

    // Version 0 is the only one; like Python's, the serialised message is empty.
    let content = TextPluginData::new().write_to_bytes().unwrap_or_default();
    super::plugin_summary(tag, PLUGIN_NAME, content, tensor)
}

/// `text` as a fenced code block in `language`, so Markdown shows it verbatim.
pub fn code_block(language: &str, text: &str) -> String {
    let fence = if text.contains("```") { "~~~~" } else { "```" };
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{language}\n{text}{nl}{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_scalar_string_tensor_for_the_text_plugin() {
        let s = summary("config", "a = 1");
        let v = &s.get_value()[0];
        assert_eq!(v.get_tag(), "config");
        assert_eq!(v.get_metadata().get_plugin_data().get_plugin_name(), "text");
        let t = v.get_tensor();
        assert_eq!(t.get_dtype(), DataType::DT_STRING);
        assert!(t.get_tensor_shape().get_dim().is_empty());
        assert_eq!(t.get_string_val(), &[b"a = 1".to_vec()]);
    }

    #[test]
    fn code_blocks_fence_the_text() {
        assert_eq!(code_block("toml", "a = 1\n"), "```toml\na = 1\n```\n");
        assert_eq!(code_block("", "x"), "```\nx\n```\n");
        assert_eq!(code_block("md", "```\ny\n```"), "~~~~md\n```\ny\n```\n~~~~\n");
    }
}
