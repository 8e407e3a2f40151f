//! IAM policy documents compared by meaning: parsed as IAM returns them (URL-encoded JSON) or as
//! written, and normalised so that two spellings of the same policy are equal.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// Members whose single string value means the same as a one-element list.
const LIST_MEMBERS: &[&str] = &[
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Service",
    "AWS",
    "Federated",
    "CanonicalUser",
];

/// A policy document in the form two spellings of the same policy share: a single statement
/// and a one-element list of statements are the same, as are a single value and a one-element
/// list (actions, resources, principals, condition values); lists are sets (sorted, without
/// duplicates); statement ids (`Sid`) do not count.
pub fn normalise(doc: &Value) -> Value {
    norm(None, doc)
}

fn norm(key: Option<&str>, v: &Value) -> Value {
    match (key, v) {
        (Some("Condition"), Value::Object(ops)) => Value::Object(sorted(
            ops.iter()
                .map(|(op, keys)| (op.clone(), condition_values(keys))),
        )),
        (Some("Statement"), Value::Object(_)) => Value::Array(vec![norm(None, v)]),
        (_, Value::Object(map)) => Value::Object(sorted(
            map.iter()
                .filter(|(k, _)| k.as_str() != "Sid")
                .map(|(k, x)| (k.clone(), norm(Some(k), x))),
        )),
        (_, Value::Array(items)) => {
            let mut items: Vec<Value> = items.iter().map(|i| norm(None, i)).collect();
            set(&mut items);
            Value::Array(items)
        }
        (Some(k), Value::String(_)) if LIST_MEMBERS.contains(&k) => Value::Array(vec![v.clone()]),
        (_, other) => other.clone(),
    }
}

/// A condition operator's keys: each value is a set (a single value is a one-element list).
fn condition_values(keys: &Value) -> Value {
    let Value::Object(keys) = keys else {
        return keys.clone();
    };
    Value::Object(sorted(keys.iter().map(|(k, x)| {
        let mut items = match x {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        set(&mut items);
        (k.clone(), Value::Array(items))
    })))
}

fn sorted(members: impl Iterator<Item = (String, Value)>) -> Map<String, Value> {
    let mut members: Vec<(String, Value)> = members.collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.into_iter().collect()
}

fn set(items: &mut Vec<Value>) {
    items.sort_by_cached_key(Value::to_string);
    items.dedup();
}

/// IAM answers policy documents URL-encoded (RFC 3986, as the IAM API reference says; a
/// literal `+` comes encoded as `%2B`). Decoded as a form value: `%XX` is a byte and `+` a
/// space, which is what the SDKs' own examples (Java's URLDecoder) do.
pub fn decode(text: &str) -> String {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A policy document as IAM returns it (URL-encoded) or as written (JSON), normalised; `None`
/// when it is neither.
pub fn parse(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .or_else(|| serde_json::from_str::<Value>(&decode(text)).ok())
        .map(|v| normalise(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spellings_of_one_policy_are_equal() {
        let a = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        }]});
        let b = json!({"Statement": {"Sid": "Trust",
            "Action": ["sts:AssumeRole"], "Effect": "Allow",
            "Condition": {"StringEquals": {"aws:SourceAccount": ["123456789012"]}},
            "Principal": {"Service": ["ecs-tasks.amazonaws.com"]}}, "Version": "2012-10-17"});
        assert_eq!(normalise(&a), normalise(&b));
        let c = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]});
        assert_ne!(
            normalise(&a),
            normalise(&c),
            "a dropped condition is a difference"
        );
        let r1 =
            json!({"Statement": [{"Effect": "Allow", "Action": "s:A", "Resource": ["x", "y"]}]});
        let r2 = json!({"Statement": [{"Effect": "Allow", "Action": "s:A", "Resource": ["y", "x", "x"]}]});
        let r3 =
            json!({"Statement": [{"Effect": "Allow", "Action": "s:A", "Resource": ["y", "*"]}]});
        assert_eq!(normalise(&r1), normalise(&r2));
        assert_ne!(normalise(&r1), normalise(&r3));
    }

    #[test]
    fn iam_answers_are_decoded() {
        let plain = json!({"Version": "2012-10-17", "Statement": [{"Sid": "a b", "Effect": "Allow",
            "Action": "ssm:GetParameters", "Resource": "arn:aws:ssm:us-west-2:1:parameter/a+b"}]});
        // As moto and IAM encode it: spaces %20, '+' %2B.
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Sid%22%3A%20%22a%20b%22%2C%20%22Effect%22%3A%20%22Allow%22%2C%20%22Action%22%3A%20%22ssm%3AGetParameters%22%2C%20%22Resource%22%3A%20%22arn%3Aaws%3Assm%3Aus-west-2%3A1%3Aparameter%2Fa%2Bb%22%7D%5D%7D";
        assert_eq!(parse(encoded), Some(normalise(&plain)));
        // Spaces as '+', the form encoding.
        assert_eq!(decode("%7B%22a%22%3A+1%7D"), "{\"a\": 1}");
        assert_eq!(parse(&plain.to_string()), Some(normalise(&plain)));
        assert_eq!(parse("not a policy"), None);
    }
}
