//! HParams plugin data: what TensorBoard's HParams dashboard reads.
//!
//! The format of `tensorboard.plugins.hparams.summary` (`experiment_pb`, `session_start_pb`,
//! `session_end_pb`): a summary value tagged [`EXPERIMENT_TAG`], [`SESSION_START_INFO_TAG`]
//! or [`SESSION_END_INFO_TAG`] whose metadata names the `hparams` plugin and carries a
//! serialised `HParamsPluginData` (version 0) as content, with an empty float tensor as
//! value. The experiment goes in the log directory's root run; each session (trial) writes
//! its start and end info in its own run, next to the scalars its metrics are read from.

use protobuf::well_known_types::{ListValue, Value};
use protobuf::{Message, RepeatedField};
use std::collections::{BTreeMap, HashMap};
use tensorboard_proto::api::{
    DataType as HDataType, DatasetType, Experiment, HParamInfo, Interval, MetricInfo, MetricName, Status,
};
use tensorboard_proto::plugin_hparams::{HParamsPluginData, SessionEndInfo, SessionStartInfo};
use tensorboard_proto::summary::Summary;
use tensorboard_proto::tensor::TensorProto;
use tensorboard_proto::tensor_shape::{TensorShapeProto, TensorShapeProto_Dim};
use tensorboard_proto::types::DataType;

/// The plugin's name in summary metadata.
pub const PLUGIN_NAME: &str = "hparams";
/// The plugin data version TensorBoard accepts.
pub const PLUGIN_DATA_VERSION: i32 = 0;
/// Tag of the experiment definition.
pub const EXPERIMENT_TAG: &str = "_hparams_/experiment";
/// Tag of a session's start info (its hyperparameter values).
pub const SESSION_START_INFO_TAG: &str = "_hparams_/session_start_info";
/// Tag of a session's end info (its status).
pub const SESSION_END_INFO_TAG: &str = "_hparams_/session_end_info";

/// A hyperparameter value: TensorBoard knows numbers, strings and booleans.
#[derive(Debug, Clone, PartialEq)]
pub enum HValue {
    /// Any number (stored as a double).
    Number(f64),
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
}

impl HValue {
    /// Converts a TOML value: integers and floats are numbers, anything that is not a
    /// number, string or boolean becomes its TOML text.
    pub fn from_toml(v: &toml::Value) -> Self {
        match v {
            toml::Value::Integer(i) => HValue::Number(*i as f64),
            toml::Value::Float(f) => HValue::Number(*f),
            toml::Value::Boolean(b) => HValue::Bool(*b),
            toml::Value::String(s) => HValue::Text(s.clone()),
            other => HValue::Text(other.to_string()),
        }
    }

    fn data_type(&self) -> HDataType {
        match self {
            HValue::Number(_) => HDataType::DATA_TYPE_FLOAT64,
            HValue::Text(_) => HDataType::DATA_TYPE_STRING,
            HValue::Bool(_) => HDataType::DATA_TYPE_BOOL,
        }
    }

    fn to_proto(&self) -> Value {
        let mut v = Value::new();
        match self {
            HValue::Number(x) => v.set_number_value(*x),
            HValue::Text(s) => v.set_string_value(s.clone()),
            HValue::Bool(b) => v.set_bool_value(*b),
        }
        v
    }
}

/// The values a hyperparameter may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// Not stated.
    Unknown,
    /// One of these values (all of one kind; mixed kinds are written without a domain).
    Discrete(Vec<HValue>),
    /// A number in `[min, max]`.
    Interval {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

/// One hyperparameter of the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct HParamDef {
    /// Its name, as sessions use it in their values.
    pub name: String,
    /// Its domain.
    pub domain: Domain,
}

/// One metric: a scalar tag that each session's run records.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// The scalar tag (`test/accuracy`).
    pub tag: String,
    /// Whether it is measured on training data (else on held-out data).
    pub training: bool,
}

/// The experiment definition: every hyperparameter and metric of its sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentDef {
    /// The experiment's name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// When it was created, in seconds since the Unix epoch.
    pub time_created_secs: f64,
    /// The hyperparameters.
    pub hparams: Vec<HParamDef>,
    /// The metrics.
    pub metrics: Vec<MetricDef>,
}

/// How a session ended. TensorBoard has no "aborted": an interrupted session is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Not known (or stopped before the end).
    Unknown,
    /// Ran to the end.
    Success,
    /// Failed (an error, or a diverged loss).
    Failure,
    /// Still running.
    Running,
}

impl SessionStatus {
    fn to_proto(self) -> Status {
        match self {
            SessionStatus::Unknown => Status::STATUS_UNKNOWN,
            SessionStatus::Success => Status::STATUS_SUCCESS,
            SessionStatus::Failure => Status::STATUS_FAILURE,
            SessionStatus::Running => Status::STATUS_RUNNING,
        }
    }
}

fn hparam_info(def: &HParamDef) -> HParamInfo {
    let mut info = HParamInfo::new();
    info.set_name(def.name.clone());
    match &def.domain {
        Domain::Unknown => {}
        Domain::Discrete(values) => {
            let kind = values.first().map(HValue::data_type);
            if let Some(kind) = kind.filter(|k| values.iter().all(|v| v.data_type() == *k)) {
                info.set_field_type(kind);
                let mut list = ListValue::new();
                list.set_values(RepeatedField::from_vec(values.iter().map(HValue::to_proto).collect()));
                info.set_domain_discrete(list);
            }
        }
        Domain::Interval { min, max } => {
            info.set_field_type(HDataType::DATA_TYPE_FLOAT64);
            let mut interval = Interval::new();
            interval.set_min_value(*min);
            interval.set_max_value(*max);
            info.set_domain_interval(interval);
        }
    }
    info
}

fn metric_info(def: &MetricDef) -> MetricInfo {
    let mut name = MetricName::new();
    name.set_tag(def.tag.clone());
    let mut info = MetricInfo::new();
    info.set_name(name);
    info.set_display_name(def.tag.clone());
    info.set_dataset_type(if def.training { DatasetType::DATASET_TRAINING } else { DatasetType::DATASET_VALIDATION });
    info
}

/// The experiment definition as an `Experiment` message.
pub fn experiment_proto(def: &ExperimentDef) -> Experiment {
    let mut e = Experiment::new();
    e.set_name(def.name.clone());
    e.set_description(def.description.clone());
    e.set_time_created_secs(def.time_created_secs);
    e.set_hparam_infos(RepeatedField::from_vec(def.hparams.iter().map(hparam_info).collect()));
    e.set_metric_infos(RepeatedField::from_vec(def.metrics.iter().map(metric_info).collect()));
    e
}

/// The summary of the experiment definition, for the log directory's root run.
pub fn experiment_summary(def: &ExperimentDef) -> Summary {
    let mut data = HParamsPluginData::new();
    data.set_experiment(experiment_proto(def));
    plugin_summary(EXPERIMENT_TAG, data)
}

/// The summary of a session's start: its hyperparameter values and its group (sessions
/// with the same group name are shown as one row, their metrics averaged; empty: alone).
pub fn session_start_summary(hparams: &BTreeMap<String, HValue>, group_name: &str, start_time_secs: f64) -> Summary {
    let mut info = SessionStartInfo::new();
    info.set_hparams(hparams.iter().map(|(k, v)| (k.clone(), v.to_proto())).collect::<HashMap<_, _>>());
    info.set_group_name(group_name.to_string());
    info.set_start_time_secs(start_time_secs);
    let mut data = HParamsPluginData::new();
    data.set_session_start_info(info);
    plugin_summary(SESSION_START_INFO_TAG, data)
}

/// The summary of a session's end.
pub fn session_end_summary(status: SessionStatus, end_time_secs: f64) -> Summary {
    let mut info = SessionEndInfo::new();
    info.set_status(status.to_proto());
    info.set_end_time_secs(end_time_secs);
    let mut data = HParamsPluginData::new();
    data.set_session_end_info(info);
    plugin_summary(SESSION_END_INFO_TAG, data)
}

fn plugin_summary(tag: &str, mut data: HParamsPluginData) -> Summary {
    data.set_version(PLUGIN_DATA_VERSION);
    // Serialising a message built here cannot fail (no required fields in proto3).
    let content = data.write_to_bytes().unwrap_or_default();
    // metadata.NULL_TENSOR: an empty float vector.
    let mut dim = TensorShapeProto_Dim::new();
    dim.set_size(0);
    let mut shape = TensorShapeProto::new();
    shape.set_dim(RepeatedField::from_vec(vec![dim]));
    let mut tensor = TensorProto::new();
    tensor.set_dtype(DataType::DT_FLOAT);
    tensor.set_tensor_shape(shape);
    super::plugin_summary(tag, PLUGIN_NAME, content, tensor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorboard_proto::plugin_hparams::HParamsPluginData_oneof_data as Data;

    fn decode(s: &Summary) -> (String, HParamsPluginData) {
        let v = &s.get_value()[0];
        let pd = v.get_metadata().get_plugin_data();
        assert_eq!(pd.get_plugin_name(), "hparams");
        assert_eq!(v.get_tensor().get_dtype(), DataType::DT_FLOAT);
        let data = HParamsPluginData::parse_from_bytes(pd.get_content()).unwrap();
        assert_eq!(data.get_version(), 0);
        (v.get_tag().to_string(), data)
    }

    #[test]
    fn the_experiment_lists_domains_and_metrics() {
        let def = ExperimentDef {
            name: "x".into(),
            description: "d".into(),
            time_created_secs: 5.0,
            hparams: vec![
                HParamDef { name: "lr".into(), domain: Domain::Interval { min: 1e-4, max: 1e-1 } },
                HParamDef { name: "model".into(), domain: Domain::Discrete(vec![HValue::Text("mlp".into())]) },
                HParamDef {
                    name: "mixed".into(),
                    domain: Domain::Discrete(vec![HValue::Number(1.0), HValue::Bool(true)]),
                },
            ],
            metrics: vec![MetricDef { tag: "train/loss".into(), training: true }],
        };
        let (tag, data) = decode(&experiment_summary(&def));
        assert_eq!(tag, EXPERIMENT_TAG);
        let Some(Data::experiment(e)) = data.data else { panic!("not an experiment") };
        assert_eq!(e.get_name(), "x");
        let infos = e.get_hparam_infos();
        assert_eq!(infos[0].get_field_type(), HDataType::DATA_TYPE_FLOAT64);
        assert_eq!(infos[0].get_domain_interval().get_max_value(), 1e-1);
        assert_eq!(infos[1].get_field_type(), HDataType::DATA_TYPE_STRING);
        assert_eq!(infos[1].get_domain_discrete().get_values()[0].get_string_value(), "mlp");
        assert!(infos[2].domain.is_none(), "mixed kinds get no domain");
        let m = &e.get_metric_infos()[0];
        assert_eq!((m.get_name().get_tag(), m.get_dataset_type()), ("train/loss", DatasetType::DATASET_TRAINING));
    }

    #[test]
    fn sessions_record_values_group_and_status() {
        let hp = BTreeMap::from([
            ("lr".to_string(), HValue::Number(0.01)),
            ("act".to_string(), HValue::Text("relu".into())),
        ]);
        let (tag, data) = decode(&session_start_summary(&hp, "g", 3.0));
        assert_eq!(tag, SESSION_START_INFO_TAG);
        let Some(Data::session_start_info(s)) = data.data else { panic!("not a session start") };
        assert_eq!(s.get_group_name(), "g");
        assert_eq!(s.get_hparams()["lr"].get_number_value(), 0.01);
        assert_eq!(s.get_hparams()["act"].get_string_value(), "relu");
        let (tag, data) = decode(&session_end_summary(SessionStatus::Failure, 4.0));
        assert_eq!(tag, SESSION_END_INFO_TAG);
        let Some(Data::session_end_info(e)) = data.data else { panic!("not a session end") };
        assert_eq!((e.get_status(), e.get_end_time_secs()), (Status::STATUS_FAILURE, 4.0));
    }

    #[test]
    fn toml_values_convert() {
        assert_eq!(HValue::from_toml(&toml::Value::Integer(3)), HValue::Number(3.0));
        assert_eq!(HValue::from_toml(&toml::Value::Boolean(true)), HValue::Bool(true));
        assert_eq!(HValue::from_toml(&toml::Value::Array(vec![1.into(), 2.into()])), HValue::Text("[1, 2]".into()));
    }
}
