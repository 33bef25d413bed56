// What only the Node host knows, appended to the gateway's /_keel/metrics text: the process's
// memory (RSS, the JS heap, and memory outside it — the components' WebAssembly linear
// memories are there) and how often each component was instantiated in this process.
// (wasmtime serve exposes neither to a component; watch the wasmtime process from outside.)

export function hostMetricsText(instantiations: ReadonlyMap<string, number>): string {
  const m = process.memoryUsage();
  const lines: string[] = [];
  const gauge = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
  gauge("keel_host_resident_memory_bytes", "Resident set size of the Node host process.", m.rss);
  gauge("keel_host_heap_used_bytes", "V8 heap in use (the host and the components' JS glue).", m.heapUsed);
  gauge("keel_host_external_memory_bytes", "Memory outside the V8 heap: the components' WebAssembly linear memories and buffers.", m.external);
  lines.push("# HELP keel_host_component_instantiations_total Component instantiations in this host process (lazy components on first use, a trapped merge plug-in again).", "# TYPE keel_host_component_instantiations_total counter");
  for (const [name, n] of [...instantiations].sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`keel_host_component_instantiations_total{component="${name}"} ${n}`);
  return lines.join("\n") + "\n";
}
