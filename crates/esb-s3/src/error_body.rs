//! Completing S3 XML error bodies: every error carries a `<Message>` and a `<RequestId>`, as
//! S3's do. s3s renders some errors with a code alone (a key over 1024 bytes, an unparsable
//! URI, a bad signature, an unimplemented operation), and SDKs show the message to users.

/// `body` with `<Message>` (when missing) and `<RequestId>` added; `None` when it is not an
/// S3 XML error body or already has both.
pub fn completed(body: &str, request_id: &str) -> Option<String> {
    let end = body.rfind("</Error>")?;
    let mut additions = String::new();
    if !body.contains("<Message>") {
        let code = element(body, "Code").unwrap_or("InternalError");
        additions.push_str(&format!("<Message>{}</Message>", message_for(code)));
    }
    if !body.contains("<RequestId>") {
        additions.push_str(&format!("<RequestId>{request_id}</RequestId>"));
    }
    if additions.is_empty() {
        return None;
    }
    Some(format!("{}{additions}{}", &body[..end], &body[end..]))
}

/// A whole S3 XML error body, for the errors answered before s3s sees the request.
pub fn rendered(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
        xml_text(code),
        xml_text(message)
    )
}

fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{name}>"))?;
    Some(&body[start..start + len])
}

/// S3's own message for an error code (XML-safe text); a plain sentence naming the code for
/// codes S3 documents no fixed message for.
pub(crate) fn message_for(code: &str) -> String {
    let known = match code {
        "AccessDenied" => "Access Denied",
        "AuthorizationHeaderMalformed" => "The authorization header is malformed.",
        "BadDigest" => "The Content-MD5 you specified did not match what we received.",
        "BucketAlreadyOwnedByYou" => {
            "Your previous request to create the named bucket succeeded and you already own it."
        }
        "BucketNotEmpty" => "The bucket you tried to delete is not empty",
        "ConditionalRequestConflict" => {
            "A conflicting conditional operation is currently in progress against this \
             resource. Please try again."
        }
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed object size.",
        "EntityTooSmall" => "Your proposed upload is smaller than the minimum allowed object size.",
        "IncompleteBody" => {
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        }
        "InternalError" => "We encountered an internal error. Please try again.",
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "InvalidArgument" => "Invalid Argument",
        "InvalidBucketName" => "The specified bucket is not valid.",
        "InvalidDigest" => "The Content-MD5 you specified is not valid.",
        "InvalidPart" => {
            "One or more of the specified parts could not be found. The part may not have been \
             uploaded, or the specified entity tag may not match the part's entity tag."
        }
        "InvalidPartOrder" => {
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        }
        "InvalidRange" => "The requested range is not satisfiable",
        "InvalidRequest" => "Invalid Request",
        "InvalidURI" => "Couldn't parse the specified URI.",
        "KeyTooLongError" => "Your key is too long",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our \
             published schema"
        }
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchUpload" => {
            "The specified upload does not exist. The upload ID may be invalid, or the upload \
             may have been aborted or completed."
        }
        "NoSuchVersion" => {
            "The version ID specified in the request does not match an existing version."
        }
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the current time is too large."
        }
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method."
        }
        "TemporaryRedirect" => "Please re-send this request to the specified temporary endpoint.",
        _ => return format!("The request failed with {}.", xml_text(code)),
    };
    known.to_string()
}

/// `text` safe inside an XML element.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_alone_gets_s3s_message_and_the_request_id() {
        let body =
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>KeyTooLongError</Code></Error>"#;
        assert_eq!(
            completed(body, "R1").as_deref(),
            Some(
                r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>KeyTooLongError</Code><Message>Your key is too long</Message><RequestId>R1</RequestId></Error>"#
            )
        );
    }

    #[test]
    fn an_existing_message_and_request_id_are_kept() {
        let body = "<Error><Code>NoSuchKey</Code><Message>mine</Message></Error>";
        let done = completed(body, "R2").expect("request id added");
        assert!(done.contains("<Message>mine</Message><RequestId>R2</RequestId>"));
        assert_eq!(completed(&done, "R3"), None);
        assert_eq!(completed("not xml", "R4"), None);
    }

    #[test]
    fn every_code_gets_some_message() {
        let done = completed("<Error><Code>NoSuchThing</Code></Error>", "R").expect("added");
        assert!(done.contains("<Message>The request failed with NoSuchThing.</Message>"));
        let done = completed("<Error></Error>", "R").expect("added");
        assert!(done.contains("<Message>We encountered an internal error."));
    }
}
