//! Matches a request's method and path to an API Gateway route, as API Gateway does.
//!
//! URL forms. Every API's routes are served at the root, like `sam local start-api`. They are
//! also reachable in the forms AWS publishes:
//! - under the API's stage, `/{StageName}/...`: a REST API's stage, and an HTTP API's when it
//!   is not `$default` (a `$default` stage has no path segment on AWS either);
//! - under each base path a custom domain maps to the API (`Domain.BasePath`, `/v1/...`).
//!
//! The prefix is stripped before matching and only that API's routes are considered.
//!
//! Rules, in order:
//! 1. Among the routes whose path template matches, a route without a greedy `{proxy+}` beats
//!    any route with one (the HTTP API rule: full matches first, then greedy matches); after
//!    that, templates compare segment by segment, a literal beating a `{param}` beating a
//!    greedy `{proxy+}` (the REST API resource-tree rule). A specific method beats `ANY` on
//!    the same template. Ties go to the earlier route in `routing.yml`.
//! 2. Across URL forms: a full match at the root, then a full match under a prefix, then a
//!    greedy match under a prefix, then a greedy match at the root. So `/Prod/items` on an
//!    API with only `/{proxy+}` gives `proxy` = `items`, as on AWS, while the root form keeps
//!    every full match it had. Among prefixes, a stage comes before base paths, and a longer
//!    base path before a shorter one (API Gateway picks the longest matching mapping).
//! 3. Then an HTTP API's `$default` route, which catches everything else.
//! 4. Then, if some template matched the path but no route accepts the method: method not
//!    allowed, with the methods that are. Otherwise: not found.
//!
//! Paths are split on `/` and percent-decoded per segment, so `%2F` never splits a segment.
//! Empty segments are dropped before matching, in requests and in templates alike: `/hello/`,
//! `//hello` and `/hello//` all reach `/hello`, and `/a//b` reaches `/a/b`. That is what
//! API Gateway does with a trailing slash on both REST and HTTP APIs (tested on AWS in
//! aws-powertools/powertools-lambda-python#1552), and a template declared as `/hello/` is
//! deployed as `/hello`. The event still carries the path as received. A dropped segment
//! never becomes a value: `/items/` does not reach `/items/{id}`, and a `{proxy+}` value,
//! the decoded rest of the path joined by `/`, must not be empty (`/` does not reach
//! `/{proxy+}`). Dot segments (`.`, `..`) are not resolved: they are just segment text, and
//! a router has no file system to escape. Function URL routes are not served by this router.

use std::cmp::Ordering;

use esb_model::{Api, Route, RouteKind, artifacts::RoutingFile};
use http::Method;
use indexmap::IndexMap;
use percent_encoding::percent_decode_str;

/// The path of an HTTP API's catch-all route.
pub const DEFAULT_ROUTE: &str = "$default";

/// The name of an HTTP API stage that has no path segment.
const DEFAULT_STAGE: &str = "$default";

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

/// How a request's URL addressed the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlForm {
    /// The API's routes at the root of the box, as `sam local start-api` serves them.
    Root,
    /// Under the API's `/{StageName}`, as on its `execute-api` endpoint.
    Stage,
    /// Under a base path a custom domain maps to the API (`Domain.BasePath`).
    BasePath,
}

/// A route chosen for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<'r> {
    pub route: &'r Route,
    pub api: &'r Api,
    /// Values of the template's `{name}` / `{name+}` variables, percent-decoded.
    pub path_parameters: IndexMap<String, String>,
    /// The route's path template as deployed (`/items/{id}`, no trailing slash), or
    /// `$default`.
    pub resource: String,
    /// The request path as received, minus the stage or base path when one was stripped:
    /// the path within the API.
    pub path: String,
    /// The URL form the request came in by.
    pub form: UrlForm,
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
    /// Stage prefixes first, then base paths, longest first.
    prefixes: Vec<Prefix>,
}

#[derive(Debug, Clone)]
struct Entry {
    api: usize,
    route: Route,
    /// `None` for `ANY`.
    method: Option<Method>,
    template: Template,
    /// The template as deployed, for the event's `resource` and the route key.
    resource: String,
}

/// A path prefix that leads to one API's routes.
#[derive(Debug, Clone)]
struct Prefix {
    api: usize,
    segments: Vec<String>,
    form: UrlForm,
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

/// The best route in one URL form, and whether its template is greedy.
struct Found<'r> {
    greedy: bool,
    matched: Matched<'r>,
}

impl Found<'_> {
    /// Precedence across URL forms (rule 2 of the module doc); smaller wins.
    fn tier(&self) -> u8 {
        match (self.greedy, self.matched.form) {
            (false, UrlForm::Root) => 0,
            (false, _) => 1,
            (true, UrlForm::Root) => 3,
            (true, _) => 2,
        }
    }
}

/// A request path split into its non-empty segments.
struct RequestPath<'p> {
    original: &'p str,
    /// Byte offset in `original` just past each non-empty segment, to cut a prefix off.
    ends: Vec<usize>,
    decoded: Vec<String>,
}

impl<'p> RequestPath<'p> {
    fn parse(path: &'p str) -> Self {
        let mut ends = Vec::new();
        let mut decoded = Vec::new();
        let mut start = 0;
        for segment in path.split('/') {
            let end = start + segment.len();
            if !segment.is_empty() {
                ends.push(end);
                decoded.push(percent_decode_str(segment).decode_utf8_lossy().into_owned());
            }
            start = end + 1;
        }
        RequestPath {
            original: path,
            ends,
            decoded,
        }
    }

    /// The path as received after its first `skip` segments; `/` when nothing is left.
    fn after(&self, skip: usize) -> String {
        let Some(last) = skip.checked_sub(1) else {
            return self.original.to_owned();
        };
        let from = self.ends.get(last).copied().unwrap_or(self.original.len());
        match self.original.get(from..) {
            Some(rest) if !rest.is_empty() => rest.to_owned(),
            _ => "/".to_owned(),
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
                let (template, resource) = Template::parse(&route.path);
                Some(Entry {
                    api,
                    route: route.clone(),
                    method,
                    template,
                    resource,
                })
            })
            .collect();
        let prefixes = prefixes(&apis);
        Router {
            apis,
            entries,
            prefixes,
        }
    }

    /// Matches one request; `path` is the request URI's path, still percent-encoded.
    pub fn route(&self, method: &Method, path: &str) -> RouteMatch<'_> {
        let request = RequestPath::parse(path);
        let mut allow: Vec<Method> = Vec::new();

        if let Some(found) = self.best_form(method, &request, &mut allow) {
            return RouteMatch::Matched(found.matched);
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
                form: UrlForm::Root,
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

    /// The best match over the root form and every prefix the path starts with (rule 2).
    fn best_form(
        &self,
        method: &Method,
        request: &RequestPath<'_>,
        allow: &mut Vec<Method>,
    ) -> Option<Found<'_>> {
        let root = self.best(method, request, None, allow);
        if root.as_ref().is_some_and(|found| !found.greedy) {
            return root;
        }
        let prefixed = self
            .prefixes
            .iter()
            .filter(|prefix| request.decoded.starts_with(&prefix.segments))
            .filter_map(|prefix| self.best(method, request, Some(prefix), allow));
        root.into_iter()
            .chain(prefixed)
            .enumerate()
            .min_by_key(|(order, found)| (found.tier(), *order))
            .map(|(_, found)| found)
    }

    /// The most specific route for the path, at the root or under `prefix` (then among that
    /// prefix's API's routes only); collects the methods of path-matching routes into `allow`
    /// along the way.
    fn best(
        &self,
        method: &Method,
        request: &RequestPath<'_>,
        prefix: Option<&Prefix>,
        allow: &mut Vec<Method>,
    ) -> Option<Found<'_>> {
        let skip = prefix.map_or(0, |p| p.segments.len());
        let decoded = request.decoded.get(skip..)?;
        let mut best: Option<(Specificity, &Entry, IndexMap<String, String>)> = None;
        for (index, entry) in self.entries.iter().enumerate() {
            if prefix.is_some_and(|p| p.api != entry.api) {
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
        let (specificity, entry, path_parameters) = best?;
        let api = self.apis.get(entry.api)?;
        Some(Found {
            greedy: specificity.greedy,
            matched: Matched {
                route: &entry.route,
                api,
                path_parameters,
                resource: entry.resource.clone(),
                path: request.after(skip),
                form: prefix.map_or(UrlForm::Root, |p| p.form),
            },
        })
    }
}

/// Every API's stage prefix (REST APIs, and HTTP APIs with a named stage), then every base
/// path, longest first.
fn prefixes(apis: &[Api]) -> Vec<Prefix> {
    let segments = |path: &str| -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let stages = apis
        .iter()
        .enumerate()
        .filter(|(_, a)| a.stage_name != DEFAULT_STAGE)
        .map(|(api, a)| Prefix {
            api,
            segments: segments(&a.stage_name),
            form: UrlForm::Stage,
        });
    let mut base_paths: Vec<Prefix> = apis
        .iter()
        .enumerate()
        .flat_map(|(api, a)| {
            a.base_paths.iter().map(move |path| Prefix {
                api,
                segments: segments(path),
                form: UrlForm::BasePath,
            })
        })
        .collect();
    // Stable, so equal lengths keep the order of routing.yml.
    base_paths.sort_by_key(|p| std::cmp::Reverse(p.segments.len()));
    // A prefix without segments would be the root form again.
    stages
        .chain(base_paths)
        .filter(|p| !p.segments.is_empty())
        .collect()
}

impl Template {
    /// The template and its deployed form: empty segments dropped, so `/hello/` is `/hello`.
    fn parse(path: &str) -> (Template, String) {
        if path == DEFAULT_ROUTE {
            return (Template::Default, DEFAULT_ROUTE.to_owned());
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
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
        (Template::Path(segments), format!("/{}", parts.join("/")))
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
