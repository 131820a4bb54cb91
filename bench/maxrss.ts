// Preloaded with --import: reports the process's peak RSS when it exits.
process.on("exit", () => {
  process.stderr.write(`\nmaxrss_kib ${process.resourceUsage().maxRSS}\n`);
});
