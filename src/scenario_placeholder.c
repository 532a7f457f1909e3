/* Replaced by the scenario area. */
typedef int suf_scenario_placeholder;
