//! RFC 6902 JSON Patch: applying patches and generating them.

use chronicle_json::{
    apply_patch, canonical_string, diff, json_equal, parse, JsonError, PatchError, Value,
    MAX_COPIED_VALUES, MAX_DEPTH,
};

fn v(text: &str) -> Value {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn apply(doc: &str, patch: &str) -> Result<Value, JsonError> {
    apply_patch(&v(doc), &v(patch))
}

fn assert_applies(doc: &str, patch: &str, expected: &str) {
    match apply(doc, patch) {
        Ok(result) => assert!(
            json_equal(&result, &v(expected)),
            "{doc} + {patch}: got {}, expected {expected}",
            canonical_string(&result)
        ),
        Err(e) => panic!("{doc} + {patch}: {e}"),
    }
}

fn error_message(doc: &str, patch: &str) -> String {
    match apply(doc, patch) {
        Ok(result) => panic!("{doc} + {patch} succeeded: {}", canonical_string(&result)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn rfc_6902_appendix_a() {
    // A.1 Adding an Object Member
    assert_applies(
        r#"{"foo":"bar"}"#,
        r#"[{"op":"add","path":"/baz","value":"qux"}]"#,
        r#"{"baz":"qux","foo":"bar"}"#,
    );
    // A.2 Adding an Array Element
    assert_applies(
        r#"{"foo":["bar","baz"]}"#,
        r#"[{"op":"add","path":"/foo/1","value":"qux"}]"#,
        r#"{"foo":["bar","qux","baz"]}"#,
    );
    // A.3 Removing an Object Member
    assert_applies(
        r#"{"baz":"qux","foo":"bar"}"#,
        r#"[{"op":"remove","path":"/baz"}]"#,
        r#"{"foo":"bar"}"#,
    );
    // A.4 Removing an Array Element
    assert_applies(
        r#"{"foo":["bar","qux","baz"]}"#,
        r#"[{"op":"remove","path":"/foo/1"}]"#,
        r#"{"foo":["bar","baz"]}"#,
    );
    // A.5 Replacing a Value
    assert_applies(
        r#"{"baz":"qux","foo":"bar"}"#,
        r#"[{"op":"replace","path":"/baz","value":"boo"}]"#,
        r#"{"baz":"boo","foo":"bar"}"#,
    );
    // A.6 Moving a Value
    assert_applies(
        r#"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#,
        r#"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
        r#"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#,
    );
    // A.7 Moving an Array Element
    assert_applies(
        r#"{"foo":["all","grass","cows","eat"]}"#,
        r#"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#,
        r#"{"foo":["all","cows","eat","grass"]}"#,
    );
    // A.8 Testing a Value: Success
    assert_applies(
        r#"{"baz":"qux","foo":["a",2,"c"]}"#,
        r#"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#,
        r#"{"baz":"qux","foo":["a",2,"c"]}"#,
    );
    // A.9 Testing a Value: Error
    assert_eq!(
        error_message(
            r#"{"baz":"qux"}"#,
            r#"[{"op":"test","path":"/baz","value":"bar"}]"#
        ),
        r#"patch operation 0: test failed: the value at "/baz" is not equal to the expected value"#
    );
    // A.10 Adding a Nested Member Object
    assert_applies(
        r#"{"foo":"bar"}"#,
        r#"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#,
        r#"{"foo":"bar","child":{"grandchild":{}}}"#,
    );
    // A.11 Ignoring Unrecognized Elements
    assert_applies(
        r#"{"foo":"bar"}"#,
        r#"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#,
        r#"{"foo":"bar","baz":"qux"}"#,
    );
    // A.12 Adding to a Nonexistent Target
    assert_eq!(
        error_message(
            r#"{"foo":"bar"}"#,
            r#"[{"op":"add","path":"/baz/bat","value":"qux"}]"#
        ),
        r#"patch operation 0: cannot add at path "/baz/bat": its parent does not exist or is not an object or array"#
    );
    // A.13 Invalid JSON Patch Document: with duplicate "op" the last one
    // wins (as in jsonb), making it a remove of a nonexistent member.
    assert_eq!(
        error_message(
            r#"{"foo":"bar"}"#,
            r#"[{"op":"add","path":"/baz","value":"qux","op":"remove"}]"#
        ),
        r#"patch operation 0: path "/baz" does not exist"#
    );
    // A.14 ~ Escape Ordering
    assert_applies(
        r#"{"/":9,"~1":10}"#,
        r#"[{"op":"test","path":"/~01","value":10}]"#,
        r#"{"/":9,"~1":10}"#,
    );
    // A.15 Comparing Strings and Numbers
    assert!(matches!(
        apply(
            r#"{"/":9,"~1":10}"#,
            r#"[{"op":"test","path":"/~01","value":"10"}]"#
        ),
        Err(JsonError::Patch {
            index: 0,
            error: PatchError::TestFailed { .. }
        })
    ));
    // A.16 Adding an Array Value
    assert_applies(
        r#"{"foo":["bar"]}"#,
        r#"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#,
        r#"{"foo":["bar",["abc","def"]]}"#,
    );
}

#[test]
fn all_operations() {
    let doc = r#"{"a":{"b":[1,2,3]},"c":"x","e~":{"/":true}}"#;
    assert_applies(
        doc,
        r#"[{"op":"add","path":"/a/b/3","value":4}]"#,
        r#"{"a":{"b":[1,2,3,4]},"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"add","path":"/a/b/0","value":0}]"#,
        r#"{"a":{"b":[0,1,2,3]},"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"add","path":"/c","value":null}]"#,
        r#"{"a":{"b":[1,2,3]},"c":null,"e~":{"/":true}}"#,
    );
    assert_applies(doc, r#"[{"op":"add","path":"","value":[1]}]"#, "[1]");
    assert_applies(
        doc,
        r#"[{"op":"remove","path":"/e~0/~1"}]"#,
        r#"{"a":{"b":[1,2,3]},"c":"x","e~":{}}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"replace","path":"","value":{"z":1}}]"#,
        r#"{"z":1}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"replace","path":"/a/b/2","value":{"k":[]}}]"#,
        r#"{"a":{"b":[1,2,{"k":[]}]},"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"copy","from":"/a/b","path":"/a/d"}]"#,
        r#"{"a":{"b":[1,2,3],"d":[1,2,3]},"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"copy","from":"","path":"/a/self"}]"#,
        r#"{"a":{"b":[1,2,3],"self":{"a":{"b":[1,2,3]},"c":"x","e~":{"/":true}}},"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(
        doc,
        r#"[{"op":"move","from":"/a/b/0","path":"/a/b/-"}]"#,
        r#"{"a":{"b":[2,3,1]},"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(doc, r#"[{"op":"move","from":"/a","path":"/a"}]"#, doc);
    assert_applies(
        doc,
        r#"[{"op":"move","from":"/a/b","path":"/b"}]"#,
        r#"{"a":{},"b":[1,2,3],"c":"x","e~":{"/":true}}"#,
    );
    assert_applies(doc, r#"[{"op":"move","from":"/a/b","path":""}]"#, "[1,2,3]");
    // test compares numbers by value and objects regardless of order.
    assert_applies(
        doc,
        r#"[{"op":"test","path":"/a/b","value":[1.0,2e0,30e-1]}]"#,
        doc,
    );
    assert_applies(
        doc,
        r#"[{"op":"test","path":"","value":{"e~":{"/":true},"c":"x","a":{"b":[1,2,3]}}}]"#,
        doc,
    );
    assert_applies(doc, "[]", doc);
    // A sequence: each operation sees the result of the previous one.
    assert_applies(
        doc,
        r#"[{"op":"add","path":"/n","value":[]},{"op":"add","path":"/n/-","value":1},
            {"op":"add","path":"/n/-","value":2},{"op":"move","from":"/n/0","path":"/n/1"},
            {"op":"test","path":"/n","value":[2,1]},{"op":"remove","path":"/a"}]"#,
        r#"{"c":"x","e~":{"/":true},"n":[2,1]}"#,
    );
}

#[test]
fn errors_name_the_operation_and_location() {
    let doc = r#"{"a":{"b":[1,2,3]},"s":"x"}"#;
    let cases = [
        (
            r#"["add"]"#,
            r#"patch operation 0: operation must be a JSON object"#,
        ),
        (
            r#"[{"op":"test","path":"/s","value":"x"},{"op":"remove","path":"/a/c"}]"#,
            r#"patch operation 1: path "/a/c" does not exist"#,
        ),
        (
            r#"[{"path":"/a"}]"#,
            r#"patch operation 0: missing "op" member"#,
        ),
        (
            r#"[{"op":"remove"}]"#,
            r#"patch operation 0: missing "path" member"#,
        ),
        (
            r#"[{"op":"add","path":"/x"}]"#,
            r#"patch operation 0: missing "value" member"#,
        ),
        (
            r#"[{"op":"move","path":"/x"}]"#,
            r#"patch operation 0: missing "from" member"#,
        ),
        (
            r#"[{"op":7,"path":"/x"}]"#,
            r#"patch operation 0: "op" member must be a string"#,
        ),
        (
            r#"[{"op":"remove","path":["a"]}]"#,
            r#"patch operation 0: "path" member must be a string"#,
        ),
        (
            r#"[{"op":"merge","path":"/x"}]"#,
            r#"patch operation 0: unknown operation "merge"; expected add, remove, replace, move, copy or test"#,
        ),
        (
            r#"[{"op":"remove","path":"a"}]"#,
            r#"patch operation 0: invalid JSON pointer "a": it must be empty or start with "/""#,
        ),
        (
            r#"[{"op":"remove","path":"/a~2"}]"#,
            r#"patch operation 0: invalid JSON pointer "/a~2": "~" must be followed by "0" or "1""#,
        ),
        (
            r#"[{"op":"remove","path":"/a/b/01"}]"#,
            r#"patch operation 0: invalid array index "01" in path "/a/b/01""#,
        ),
        (
            r#"[{"op":"add","path":"/a/b/01","value":0}]"#,
            r#"patch operation 0: invalid array index "01" in path "/a/b/01""#,
        ),
        (
            r#"[{"op":"replace","path":"/a/b/x","value":0}]"#,
            r#"patch operation 0: invalid array index "x" in path "/a/b/x""#,
        ),
        (
            r#"[{"op":"remove","path":"/a/b/-"}]"#,
            r#"patch operation 0: path "/a/b/-" does not exist"#,
        ),
        (
            r#"[{"op":"remove","path":"/a/b/3"}]"#,
            r#"patch operation 0: path "/a/b/3" does not exist"#,
        ),
        (
            r#"[{"op":"remove","path":"/a/b/99999999999999999999999"}]"#,
            r#"patch operation 0: path "/a/b/99999999999999999999999" does not exist"#,
        ),
        (
            r#"[{"op":"add","path":"/a/b/4","value":0}]"#,
            r#"patch operation 0: array index 4 in path "/a/b/4" is out of bounds (the array has 3 elements)"#,
        ),
        (
            r#"[{"op":"add","path":"/s/t","value":0}]"#,
            r#"patch operation 0: cannot add at path "/s/t": its parent does not exist or is not an object or array"#,
        ),
        (
            r#"[{"op":"replace","path":"/nope","value":0}]"#,
            r#"patch operation 0: path "/nope" does not exist"#,
        ),
        (
            r#"[{"op":"test","path":"/nope","value":0}]"#,
            r#"patch operation 0: path "/nope" does not exist"#,
        ),
        (
            r#"[{"op":"remove","path":""}]"#,
            r#"patch operation 0: cannot remove the whole document"#,
        ),
        (
            r#"[{"op":"move","from":"/a","path":"/a/b/0"}]"#,
            r#"patch operation 0: cannot move "/a" into its own child "/a/b/0""#,
        ),
        (
            r#"[{"op":"move","from":"","path":"/x"}]"#,
            r#"patch operation 0: cannot move "" into its own child "/x""#,
        ),
        (
            r#"[{"op":"move","from":"/zz","path":"/x"}]"#,
            r#"patch operation 0: from "/zz" does not exist"#,
        ),
        (
            r#"[{"op":"copy","from":"/a/b/5","path":"/x"}]"#,
            r#"patch operation 0: from "/a/b/5" does not exist"#,
        ),
        (
            r#"[{"op":"test","path":"/s","value":"x\n\"y"}]"#,
            r#"patch operation 0: test failed: the value at "/s" is not equal to the expected value"#,
        ),
        (
            r#"{"op":"add","path":"","value":1}"#,
            "JSON patch must be an array of operations",
        ),
    ];
    for (patch, message) in cases {
        assert_eq!(error_message(doc, patch), message, "patch {patch}");
    }
    // Pointers are echoed as JSON strings, so odd characters cannot garble
    // the message.
    assert_eq!(
        error_message(doc, r#"[{"op":"remove","path":"/\"\n"}]"#),
        r#"patch operation 0: path "/\"\n" does not exist"#
    );
}

#[test]
fn failed_patches_have_no_effect() {
    let doc = v(r#"{"a":[1,2],"b":1}"#);
    let patch = v(
        r#"[{"op":"remove","path":"/b"},{"op":"add","path":"/a/-","value":3},{"op":"test","path":"/a/0","value":9}]"#,
    );
    let before = canonical_string(&doc);
    assert!(matches!(
        apply_patch(&doc, &patch),
        Err(JsonError::Patch { index: 2, .. })
    ));
    assert_eq!(canonical_string(&doc), before);
}

#[test]
fn member_keys_that_look_like_indexes_or_dash() {
    assert_applies(
        r#"{"0":1,"-":2}"#,
        r#"[{"op":"replace","path":"/0","value":3},{"op":"remove","path":"/-"},{"op":"add","path":"/01","value":4}]"#,
        r#"{"0":3,"01":4}"#,
    );
    assert_applies(
        r#"{"":{"":1}}"#,
        r#"[{"op":"replace","path":"//","value":2}]"#,
        r#"{"":{"":2}}"#,
    );
}

#[test]
fn results_deeper_than_max_depth_are_refused() {
    let nested = |depth: usize| v(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
    let mut patch = serde_json::Map::new();
    patch.insert("op".into(), "add".into());
    patch.insert("path".into(), "/x".into());
    patch.insert("value".into(), nested(MAX_DEPTH - 1));
    let patch = Value::Array(vec![Value::Object(patch)]);
    assert!(apply_patch(&v("{}"), &patch).is_ok());
    assert_eq!(
        apply_patch(
            &v(r#"{"y":{}}"#),
            &v(r#"[{"op":"copy","from":"","path":"/y/z"}]"#)
        )
        .unwrap(),
        v(r#"{"y":{"z":{"y":{}}}}"#)
    );
    // One level deeper no longer fits.
    let doc = v(r#"{"y":{}}"#);
    let mut deeper = patch.clone();
    deeper[0]["path"] = "/y/x".into();
    assert_eq!(
        apply_patch(&doc, &deeper).unwrap_err(),
        JsonError::Patch {
            index: 0,
            error: PatchError::TooDeep
        }
    );
    // Copying the document into itself grows it a level per operation.
    let grow = Value::Array(vec![v(r#"{"op":"copy","from":"","path":"/a"}"#); MAX_DEPTH]);
    assert_eq!(
        apply_patch(&v("{}"), &grow).unwrap_err(),
        JsonError::Patch {
            index: MAX_DEPTH - 1,
            error: PatchError::TooDeep
        }
    );
}

#[test]
fn copy_amplification_is_bounded() {
    // Each copy doubles the document: 2^20 values after 20 operations.
    let doubling: Vec<Value> = (0..40)
        .map(|i| v(&format!(r#"{{"op":"copy","from":"","path":"/{i}"}}"#)))
        .collect();
    let err = apply_patch(&v("{}"), &Value::Array(doubling)).unwrap_err();
    assert!(
        matches!(
            err,
            JsonError::Patch {
                error: PatchError::TooLarge,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        PatchError::TooLarge.to_string(),
        format!("copy operations would duplicate more than {MAX_COPIED_VALUES} values")
    );
}

#[test]
fn diff_examples() {
    let cases = [
        ("{}", "{}", "[]"),
        (r#"{"a":1}"#, r#"{"a":1.0}"#, "[]"),
        ("[1,2,3]", "[1.0,2,3e0]", "[]"),
        ("1", "2", r#"[{"op":"replace","path":"","value":2}]"#),
        ("{}", "[]", r#"[{"op":"replace","path":"","value":[]}]"#),
        (
            r#"{"a":1,"b":{"c":[1,2]},"d":true}"#,
            r#"{"a":1,"b":{"c":[1,2,3]},"e":null}"#,
            r#"[{"op":"add","path":"/b/c/2","value":3},{"op":"remove","path":"/d"},{"op":"add","path":"/e","value":null}]"#,
        ),
        (
            "[1,2,3,4,5]",
            "[1,5]",
            r#"[{"op":"remove","path":"/3"},{"op":"remove","path":"/2"},{"op":"remove","path":"/1"}]"#,
        ),
        (
            "[1,5]",
            "[1,2,3,5]",
            r#"[{"op":"add","path":"/1","value":2},{"op":"add","path":"/2","value":3}]"#,
        ),
        (
            "[1,2,3]",
            "[1,9,3]",
            r#"[{"op":"replace","path":"/1","value":9}]"#,
        ),
        (
            "[1,2,3,4]",
            "[1,9,4]",
            r#"[{"op":"replace","path":"/1","value":9},{"op":"remove","path":"/2"}]"#,
        ),
        (
            r#"[{"a":1},{"b":2}]"#,
            r#"[{"a":2},{"b":2}]"#,
            r#"[{"op":"replace","path":"/0/a","value":2}]"#,
        ),
        (
            r#"{"a/b":{"c~d":1}}"#,
            r#"{"a/b":{"c~d":2}}"#,
            r#"[{"op":"replace","path":"/a~1b/c~0d","value":2}]"#,
        ),
        (
            r#"{"a":[1]}"#,
            r#"{"a":{"0":1}}"#,
            r#"[{"op":"replace","path":"/a","value":{"0":1}}]"#,
        ),
    ];
    for (from, to, expected) in cases {
        let patch = diff(&v(from), &v(to));
        assert_eq!(
            canonical_string(&patch),
            canonical_string(&v(expected)),
            "diff {from} -> {to}"
        );
        assert!(json_equal(&apply_patch(&v(from), &patch).unwrap(), &v(to)));
    }
}
