// The merge plug-in used when the user brings none: it declines every merge, so the
// conflict component falls back to the configured built-in strategy.
export const merge = {
  merge() {
    throw { tag: "unmergeable", val: "no merge plug-in is configured" };
  },
};
