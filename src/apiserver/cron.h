// CronJob schedules: the standard cron syntax as upstream reads it (robfig/cron v3's
// ParseStandard): five fields (minute, hour, day of month, month, day of week) of numbers,
// names (JAN-DEC, SUN-SAT), ranges, steps, lists, '*' and '?'; the descriptors @yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly and "@every <duration>"; an
// optional "TZ=<zone> " or "CRON_TZ=<zone> " prefix. Errors carry upstream's texts
// ("expected exactly 5 fields, found 1: [x]", "end of range (60) above maximum (59): 60").
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace keelson::apiserver {

struct CronSchedule {
  // Bit i set when value i matches (minute 0..59, hour 0..23, day of month 1..31, month
  // 1..12, day of week 0..6 with 0 Sunday).
  uint64_t minute = 0, hour = 0, day_of_month = 0, month = 0, day_of_week = 0;
  // Whether the day-of-month / day-of-week field was '*' or '?' (then the other decides).
  bool any_day_of_month = false, any_day_of_week = false;
  // "@every <d>": the period in nanoseconds (the fields above are unused); else 0.
  int64_t every_ns = 0;
  std::string time_zone;  // from a TZ= or CRON_TZ= prefix; "" for the controller's default
};

// InvalidArgument with upstream's message when `spec` is not a schedule.
Result<CronSchedule> ParseCronSchedule(std::string_view spec);

// Go's time.LoadLocation against the system's time zone database: "" when `name` loads (or
// when there is no database to check against), else Go's error text ("unknown time zone X").
std::string LoadLocationError(std::string_view name);

}  // namespace keelson::apiserver
