//! What `Ref` and `Fn::GetAtt` of a resource give on this box: the resource's name here and
//! ARNs built from it in the configured region and account.

use serde_json::Value;

/// The property that names a resource of each type; without it the logical id is the name.
pub(crate) fn name_property(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => "FunctionName",
        "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => "TableName",
        "AWS::S3::Bucket" => "BucketName",
        "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => "LayerName",
        "AWS::SQS::Queue" => "QueueName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::IAM::Role" => "RoleName",
        "AWS::Serverless::StateMachine" | "AWS::Events::Rule" | "AWS::Kinesis::Stream" => "Name",
        "AWS::StepFunctions::StateMachine" => "StateMachineName",
        "AWS::Logs::LogGroup" => "LogGroupName",
        _ => return None,
    })
}

/// The name a resource has here when its template sets none.
pub(crate) fn default_name(resource_type: &str, logical_id: &str) -> String {
    match resource_type {
        // Bucket names must be lower case.
        "AWS::S3::Bucket" => logical_id.to_ascii_lowercase(),
        _ => logical_id.to_string(),
    }
}

/// Where a resource lives: its type, name, and the region/account ARNs are built in.
#[derive(Debug)]
pub(crate) struct Physical<'a> {
    pub resource_type: &'a str,
    pub name: &'a str,
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
}

impl Physical<'_> {
    /// `Ref` of the resource.
    pub(crate) fn reference(&self) -> String {
        match self.resource_type {
            "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => self.arn(),
            "AWS::SNS::Topic"
            | "AWS::Serverless::StateMachine"
            | "AWS::StepFunctions::StateMachine" => self.arn(),
            "AWS::SQS::Queue" => self.queue_url(),
            _ => self.name.to_string(),
        }
    }

    /// `Fn::GetAtt` of the resource; `None` for attributes this type does not have here.
    pub(crate) fn attribute(&self, attribute: &str) -> Option<Value> {
        let name = self.name;
        let text = match (self.resource_type, attribute) {
            (_, "Arn") => self.arn(),
            ("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable", "StreamArn") => {
                format!("{}/stream/1970-01-01T00:00:00.000", self.arn())
            }
            ("AWS::S3::Bucket", "DomainName") => format!("{name}.s3.amazonaws.com"),
            ("AWS::S3::Bucket", "RegionalDomainName") => {
                format!("{name}.s3.{}.amazonaws.com", self.region)
            }
            ("AWS::S3::Bucket", "DualStackDomainName") => {
                format!("{name}.s3.dualstack.{}.amazonaws.com", self.region)
            }
            ("AWS::S3::Bucket", "WebsiteURL") => {
                format!("http://{name}.s3-website-{}.amazonaws.com", self.region)
            }
            ("AWS::SQS::Queue", "QueueName") | ("AWS::SNS::Topic", "TopicName") => name.to_string(),
            ("AWS::SQS::Queue", "QueueUrl") => self.queue_url(),
            ("AWS::IAM::Role", "RoleId") => format!("AROA{}", name.to_ascii_uppercase()),
            ("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine", "Name") => {
                name.to_string()
            }
            _ => return None,
        };
        Some(Value::String(text))
    }

    pub(crate) fn arn(&self) -> String {
        let Physical {
            partition: p,
            region: r,
            account: a,
            name: n,
            ..
        } = self;
        match self.resource_type {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                format!("arn:{p}:lambda:{r}:{a}:function:{n}")
            }
            "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
                format!("arn:{p}:lambda:{r}:{a}:layer:{n}:1")
            }
            "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => {
                format!("arn:{p}:dynamodb:{r}:{a}:table/{n}")
            }
            "AWS::S3::Bucket" => format!("arn:{p}:s3:::{n}"),
            "AWS::IAM::Role" => format!("arn:{p}:iam::{a}:role/{n}"),
            "AWS::Kinesis::Stream" => format!("arn:{p}:kinesis:{r}:{a}:stream/{n}"),
            "AWS::Events::Rule" => format!("arn:{p}:events:{r}:{a}:rule/{n}"),
            "AWS::Logs::LogGroup" => format!("arn:{p}:logs:{r}:{a}:log-group:{n}:*"),
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                format!("arn:{p}:states:{r}:{a}:stateMachine:{n}")
            }
            other => {
                let service = other
                    .split("::")
                    .nth(1)
                    .map_or_else(|| "unknown".to_string(), str::to_ascii_lowercase);
                format!("arn:{p}:{service}:{r}:{a}:{n}")
            }
        }
    }

    fn queue_url(&self) -> String {
        format!(
            "https://sqs.{}.amazonaws.com/{}/{}",
            self.region, self.account, self.name
        )
    }
}

/// Types whose attributes this box serves; `GetAtt` of an unknown attribute on them is an
/// error, while on other types it is a placeholder with a warning.
pub(crate) fn is_served_type(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::Serverless::Function"
            | "AWS::Lambda::Function"
            | "AWS::DynamoDB::Table"
            | "AWS::Serverless::SimpleTable"
            | "AWS::S3::Bucket"
            | "AWS::Serverless::LayerVersion"
            | "AWS::Lambda::LayerVersion"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physical<'a>(resource_type: &'a str, name: &'a str) -> Physical<'a> {
        Physical {
            resource_type,
            name,
            partition: "aws",
            region: "eu-west-1",
            account: "123456789012",
        }
    }

    #[test]
    fn references_and_arns_follow_aws_formats() {
        let f = physical("AWS::Serverless::Function", "hello");
        assert_eq!(f.reference(), "hello");
        assert_eq!(
            f.arn(),
            "arn:aws:lambda:eu-west-1:123456789012:function:hello"
        );
        let t = physical("AWS::DynamoDB::Table", "items");
        assert_eq!(
            t.attribute("Arn"),
            Some(Value::from(
                "arn:aws:dynamodb:eu-west-1:123456789012:table/items"
            ))
        );
        let q = physical("AWS::SQS::Queue", "jobs");
        assert_eq!(
            q.reference(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
        );
        let b = physical("AWS::S3::Bucket", "data");
        assert_eq!(b.arn(), "arn:aws:s3:::data");
        assert_eq!(b.attribute("Nope"), None);
        let x = physical("AWS::Foo::Bar", "x");
        assert_eq!(x.arn(), "arn:aws:foo:eu-west-1:123456789012:x");
    }
}
