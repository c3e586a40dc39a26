//! Rough single-thread throughput of dynoxide's typed API with no HTTP hop, to compare with
//! `throughput` (which goes through the front and the engine threads).

#![allow(clippy::unwrap_used)]

use std::time::Instant;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite");
    let db = dynoxide::Database::new(path.to_str().unwrap()).unwrap();
    let create = r#"{"TableName":"bench","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    db.create_table(serde_json::from_str(create).unwrap())
        .unwrap();
    let n = 4000;
    let start = Instant::now();
    for i in 0..n {
        let put = format!(
            r#"{{"TableName":"bench","Item":{{"pk":{{"S":"k{i}"}},"v":{{"S":"value"}}}}}}"#
        );
        db.put_item(serde_json::from_str(&put).unwrap()).unwrap();
    }
    println!(
        "PutItem direct: {:.0} ops/s",
        f64::from(n) / start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    for i in 0..n {
        let get = format!(r#"{{"TableName":"bench","Key":{{"pk":{{"S":"k{i}"}}}}}}"#);
        let r = db.get_item(serde_json::from_str(&get).unwrap()).unwrap();
        serde_json::to_string(&r).unwrap();
    }
    println!(
        "GetItem direct: {:.0} ops/s",
        f64::from(n) / start.elapsed().as_secs_f64()
    );
}
