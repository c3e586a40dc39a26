//! The resource types esb knows: those it serves and SAM's own. A type a letter or two away
//! from one of them is a typo (`AWS::Serverless::Functon`), an error as on AWS, rather than a
//! type esb does not serve, which is listed and never fails the build.

use super::suggest::nearest;

/// The types this box turns into functions, layers, APIs, tables and buckets.
const SERVED: &[&str] = &[
    "AWS::Serverless::Function",
    "AWS::Lambda::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Lambda::LayerVersion",
    "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi",
    "AWS::DynamoDB::Table",
    "AWS::Serverless::SimpleTable",
    "AWS::S3::Bucket",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
];

/// SAM's types that this box does not serve.
const OTHER_SAM: &[&str] = &[
    "AWS::Serverless::Application",
    "AWS::Serverless::CapacityProvider",
    "AWS::Serverless::Connector",
    "AWS::Serverless::GraphQLApi",
    "AWS::Serverless::StateMachine",
    "AWS::Serverless::WebSocketApi",
];

/// How far a misspelt type may be from the one it is taken for: one or two letters. Real
/// CloudFormation types are further than that from every known type.
const TYPO_DISTANCE: usize = 2;

pub(crate) fn is_served(resource_type: &str) -> bool {
    SERVED.contains(&resource_type)
}

/// The known type `resource_type` is a misspelling of, if it is one.
pub(crate) fn misspelling_of(resource_type: &str) -> Option<&'static str> {
    let known = SERVED.iter().chain(OTHER_SAM);
    if known.clone().any(|known| *known == resource_type) {
        return None;
    }
    nearest(resource_type, known.copied(), TYPO_DISTANCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_of_known_types_are_typos() {
        assert_eq!(
            misspelling_of("AWS::Serverless::Functon"),
            Some("AWS::Serverless::Function")
        );
        assert_eq!(misspelling_of("AWS::s3::bucket"), Some("AWS::S3::Bucket"));
        assert_eq!(
            misspelling_of("AWS::Serverless::StateMachin"),
            Some("AWS::Serverless::StateMachine")
        );
        for valid in [
            "AWS::Serverless::Function",
            "AWS::SQS::Queue",
            "AWS::Lambda::Permission",
            "AWS::Lambda::Version",
            "AWS::ApiGatewayV2::Api",
            "AWS::S3::BucketPolicy",
            "AWS::DynamoDB::GlobalTable",
            "Custom::Function",
            "AWS::Serverless::Brandnew",
        ] {
            assert_eq!(misspelling_of(valid), None, "{valid}");
        }
    }
}
