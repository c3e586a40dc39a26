//! Matches a request's method and path to an API Gateway route, as API Gateway does.
//!
//! Every API's routes are served at the root, like `sam local start-api`. A REST API's routes
//! are also reachable under its stage, `/{StageName}/...`, which is stripped before matching.
//!
//! Rules, in order:
//! 1. Among the routes whose path template matches, a route without a greedy `{proxy+}` beats
//!    any route with one (the HTTP API rule: full matches first, then greedy matches); after
//!    that, templates compare segment by segment, a literal beating a `{param}` beating a
//!    greedy `{proxy+}` (the REST API resource-tree rule). A specific method beats `ANY` on
//!    the same template. Ties go to the earlier route in `routing.yml`.
//! 2. Then the same under a REST API's stage prefix, against that API's routes only.
//! 3. Then an HTTP API's `$default` route, which catches everything else.
//! 4. Then, if some template matched the path but no route accepts the method: method not
//!    allowed, with the methods that are. Otherwise: not found.
//!
//! Paths are split on `/` and percent-decoded per segment, so `%2F` never splits a segment.
//! A trailing slash is significant, as on API Gateway: `/items/` leaves an empty last segment
//! that no literal or `{param}` matches, so it does not reach `/items` (only a greedy route or
//! `$default` can take it). Empty segments (`//`) never match a literal or a `{param}`. Dot
//! segments (`.`, `..`) are not resolved: they are just segment text, and a router has no file
//! system to escape. A `{proxy+}` value is the decoded rest of the path, segments joined by `/`,
//! and must not be empty. Function URL routes are not served by this router.

use std::cmp::Ordering;

use esb_model::{Api, ApiKind, Route, RouteKind, artifacts::RoutingFile};
use http::Method;
use indexmap::IndexMap;
use percent_encoding::percent_decode_str;

/// The path of an HTTP API's catch-all route.
pub const DEFAULT_ROUTE: &str = "$default";

/// The outcome of matching one request.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteMatch<'r> {
    Matched(Matched<'r>),
    /// The path is known but no route takes this method; `allow` lists those that do.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    NotFound,
}

/// A route chosen for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<'r> {
    pub route: &'r Route,
    pub api: &'r Api,
    /// Values of the template's `{name}` / `{name+}` variables, percent-decoded.
    pub path_parameters: IndexMap<String, String>,
    /// The route's path template (`/items/{id}`), or `$default`.
    pub resource: String,
    /// The request path as received, minus the stage prefix when one was stripped.
    pub path: String,
    /// True when the request came in under the REST API's `/{StageName}` prefix.
    pub stage_prefixed: bool,
}

impl Matched<'_> {
    /// The HTTP API route key: `GET /items/{id}`, `ANY /{proxy+}` or `$default`.
    pub fn route_key(&self) -> String {
        if self.resource == DEFAULT_ROUTE {
            DEFAULT_ROUTE.to_owned()
        } else {
            format!("{} {}", self.route.method, self.resource)
        }
    }
}

/// The routes of every API in a `routing.yml`, ready to match requests.
#[derive(Debug, Clone, Default)]
pub struct Router {
    apis: Vec<Api>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    api: usize,
    route: Route,
    /// `None` for `ANY`.
    method: Option<Method>,
    template: Template,
}

#[derive(Debug, Clone)]
enum Template {
    Default,
    Path(Vec<Segment>),
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 2,
        }
    }
}

/// How specific a matching template is; smaller is more specific.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    greedy: bool,
    ranks: Vec<u8>,
    any_method: bool,
    index: usize,
}

/// A request path split into raw and percent-decoded segments.
struct RequestPath<'p> {
    original: &'p str,
    raw: Vec<&'p str>,
    decoded: Vec<String>,
}

impl<'p> RequestPath<'p> {
    fn parse(path: &'p str) -> Self {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let raw: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let decoded = raw
            .iter()
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        RequestPath {
            original: path,
            raw,
            decoded,
        }
    }
}

impl Router {
    /// Builds the router from `routing.yml`. Routes of unknown APIs, function URL routes and
    /// routes whose method is not a valid HTTP method are left out.
    pub fn new(routing: &RoutingFile) -> Router {
        let apis = routing.apis.clone();
        let entries = routing
            .routes
            .iter()
            .filter(|route| route.kind != RouteKind::Url)
            .filter_map(|route| {
                let api = apis.iter().position(|a| a.logical_id == route.api)?;
                let method = if route.method.eq_ignore_ascii_case("ANY") {
                    None
                } else {
                    Some(Method::from_bytes(route.method.to_ascii_uppercase().as_bytes()).ok()?)
                };
                Some(Entry {
                    api,
                    route: route.clone(),
                    method,
                    template: Template::parse(&route.path),
                })
            })
            .collect();
        Router { apis, entries }
    }

    /// Matches one request; `path` is the request URI's path, still percent-encoded.
    pub fn route(&self, method: &Method, path: &str) -> RouteMatch<'_> {
        let request = RequestPath::parse(path);
        let mut allow: Vec<Method> = Vec::new();

        if let Some(m) = self.best(method, &request, 0, None, &mut allow) {
            return RouteMatch::Matched(m);
        }

        if let Some(stage) = request.decoded.first() {
            for (index, api) in self.apis.iter().enumerate() {
                if api.kind != ApiKind::Rest || api.stage_name != *stage {
                    continue;
                }
                if let Some(m) = self.best(method, &request, 1, Some(index), &mut allow) {
                    return RouteMatch::Matched(m);
                }
            }
        }

        if let Some(entry) = self.entries.iter().find(|e| {
            matches!(e.template, Template::Default) && e.method.as_ref().is_none_or(|m| m == method)
        }) && let Some(api) = self.apis.get(entry.api)
        {
            return RouteMatch::Matched(Matched {
                route: &entry.route,
                api,
                path_parameters: IndexMap::new(),
                resource: DEFAULT_ROUTE.to_owned(),
                path: path.to_owned(),
                stage_prefixed: false,
            });
        }

        if allow.is_empty() {
            RouteMatch::NotFound
        } else {
            allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            allow.dedup();
            RouteMatch::MethodNotAllowed { allow }
        }
    }

    /// The most specific route for the path from segment `skip` on, optionally limited to one
    /// API; collects the methods of path-matching routes into `allow` along the way.
    fn best(
        &self,
        method: &Method,
        request: &RequestPath<'_>,
        skip: usize,
        only_api: Option<usize>,
        allow: &mut Vec<Method>,
    ) -> Option<Matched<'_>> {
        let decoded = request.decoded.get(skip..)?;
        let mut best: Option<(Specificity, &Entry, IndexMap<String, String>)> = None;
        for (index, entry) in self.entries.iter().enumerate() {
            if only_api.is_some_and(|api| api != entry.api) {
                continue;
            }
            let Template::Path(segments) = &entry.template else {
                continue;
            };
            let Some(params) = match_segments(segments, decoded) else {
                continue;
            };
            match &entry.method {
                Some(m) if m != method => {
                    allow.push(m.clone());
                    continue;
                }
                _ => {}
            }
            let specificity = Specificity {
                greedy: segments.iter().any(|s| matches!(s, Segment::Greedy(_))),
                ranks: segments.iter().map(Segment::rank).collect(),
                any_method: entry.method.is_none(),
                index,
            };
            let better = best
                .as_ref()
                .is_none_or(|(current, _, _)| specificity.cmp(current) == Ordering::Less);
            if better {
                best = Some((specificity, entry, params));
            }
        }
        let (_, entry, path_parameters) = best?;
        let api = self.apis.get(entry.api)?;
        let path = if skip == 0 {
            request.original.to_owned()
        } else {
            format!("/{}", request.raw.get(skip..).unwrap_or_default().join("/"))
        };
        Some(Matched {
            route: &entry.route,
            api,
            path_parameters,
            resource: entry.route.path.clone(),
            path,
            stage_prefixed: skip > 0,
        })
    }
}

impl Template {
    fn parse(path: &str) -> Template {
        if path == DEFAULT_ROUTE {
            return Template::Default;
        }
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        if trimmed.is_empty() {
            return Template::Path(Vec::new());
        }
        let parts: Vec<&str> = trimmed.split('/').collect();
        let last = parts.len().saturating_sub(1);
        let segments = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let variable = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
                match variable {
                    Some(name) if i == last && name.ends_with('+') && name.len() > 1 => {
                        Segment::Greedy(name.trim_end_matches('+').to_owned())
                    }
                    Some(name) if !name.is_empty() && !name.ends_with('+') => {
                        Segment::Param(name.to_owned())
                    }
                    _ => Segment::Literal((*part).to_owned()),
                }
            })
            .collect();
        Template::Path(segments)
    }
}

/// Matches decoded request segments to a template; the path parameters on success.
fn match_segments(template: &[Segment], request: &[String]) -> Option<IndexMap<String, String>> {
    let mut params = IndexMap::new();
    for (i, segment) in template.iter().enumerate() {
        match segment {
            Segment::Literal(literal) => {
                let got = request.get(i)?;
                if got != literal {
                    return None;
                }
            }
            Segment::Param(name) => {
                let got = request.get(i)?;
                if got.is_empty() {
                    return None;
                }
                params.insert(name.clone(), got.clone());
            }
            Segment::Greedy(name) => {
                let rest = request.get(i..)?.join("/");
                if rest.is_empty() {
                    return None;
                }
                params.insert(name.clone(), rest);
                return Some(params);
            }
        }
    }
    (template.len() == request.len()).then_some(params)
}
