// What the review server's request handlers share: the options, the database connections
// (behind one mutex), the thumbnail cache. review_server.cpp owns it and does access control;
// review_routes.cpp answers the requests that pass.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "review/review_http.hpp"
#include "review/review_queries.hpp"
#include "safescan/decisions.hpp"
#include "safescan/review.hpp"

namespace safescan::review {

struct State {
  State(ReviewOptions options, std::string access_token)
      : opt(std::move(options)),
        token(std::move(access_token)),
        queries(opt.db),
        decisions(DecisionStore::open(opt.db)),
        session_floor(decisions.last_id()),
        thumbs(opt.thumb_cache_bytes) {}

  ReviewOptions opt;
  std::string token;    // "" when none is required
  std::mutex db_mutex;  // guards queries and decisions (one SQLite connection each)
  Queries queries;
  DecisionStore decisions;
  // Undo reaches only decisions recorded after the server started (ids above this).
  std::int64_t session_floor;
  ThumbCache thumbs;
};

// Answers one request that passed access control: the static assets and the /api routes.
// Throws HttpError (404 unknown route, 405 wrong method with the Allow header set, 400 bad
// parameters ...) and safescan::Error.
void route(State& state, const httplib::Request& req, httplib::Response& res);

// {"error": message} with `status`.
void send_error(httplib::Response& res, int status, const std::string& message);

}  // namespace safescan::review
