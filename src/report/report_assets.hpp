// The audit card page's own style sheet and script (inlined into report.html).
#pragma once

#include <string_view>

namespace safescan::report {

std::string_view page_css();
// Draws every chart of the <script type="application/json" id="report-data"> block with
// Chart.js, toggles the blur of thumbnails on click, sorts tables by a clicked header.
std::string_view page_js();

}  // namespace safescan::report
