using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SpiKernel.Pipeline.Tests;

/// <summary>What a page did when headless Chromium opened it.</summary>
/// <param name="Screenshot">PNG of the viewport.</param>
/// <param name="SvgSizes">Width and height (CSS pixels) of every &lt;svg&gt; element as laid out.</param>
/// <param name="ConsoleErrors">Console errors, uncaught exceptions and browser log errors.</param>
/// <param name="Requests">Every request the page made other than loading the document itself.</param>
public sealed record PageLoad(byte[] Screenshot, IReadOnlyList<(double Width, double Height)> SvgSizes, IReadOnlyList<string> ConsoleErrors, IReadOnlyList<string> Requests);

/// <summary>
/// Opens a local HTML file in headless Chromium (Debian's <c>chromium</c>) through the Chrome DevTools protocol: the
/// page's console, exceptions and network requests are recorded while it loads, then the layout is measured and a
/// screenshot taken. The browser process is started and ended here.
/// </summary>
public static class HeadlessChromium
{
    /// <summary>The browser on PATH, or null.</summary>
    public static string? Find() =>
        new[] { "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);

    /// <summary>Loads <paramref name="htmlPath"/> in a <paramref name="width"/> × <paramref name="height"/> viewport.</summary>
    public static PageLoad Open(string browser, string htmlPath, int width, int height)
    {
        using var profile = new TempDir();
        var start = new ProcessStartInfo(browser)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (string arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0", "--remote-allow-origins=*",
                     $"--user-data-dir={profile.Path}", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--window-size={width},{height}", "about:blank" })
            start.ArgumentList.Add(arg);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{browser} did not start");
        try
        {
            var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var log = new ConcurrentQueue<string>();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                log.Enqueue(e.Data);
                int at = e.Data.IndexOf("ws://", StringComparison.Ordinal);
                if (e.Data.StartsWith("DevTools listening on", StringComparison.Ordinal) && at >= 0) endpoint.TrySetResult(e.Data[at..].Trim());
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            if (!endpoint.Task.Wait(TimeSpan.FromSeconds(60)))
                throw new InvalidOperationException($"{browser} gave no DevTools endpoint within 60 s: {string.Join(" | ", log.Take(10))}");
            return Drive(new Uri(endpoint.Task.Result), new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri, width, height).GetAwaiter().GetResult();
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    private static async Task<PageLoad> Drive(Uri browserEndpoint, string url, int width, int height)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        JsonArray targets = JsonNode.Parse(await http.GetStringAsync($"http://{browserEndpoint.Authority}/json/list"))!.AsArray();
        string page = targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
        using var cdp = new DevTools();
        await cdp.Connect(new Uri(page));
        foreach (string domain in new[] { "Runtime", "Log", "Network", "Page" }) await cdp.Call($"{domain}.enable");
        await cdp.Call("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
        await cdp.Call("Page.navigate", new JsonObject { ["url"] = url });
        await cdp.WaitFor("Page.loadEventFired", TimeSpan.FromSeconds(60));
        JsonNode sizes = (await cdp.Call("Runtime.evaluate", new JsonObject
        {
            ["expression"] = "JSON.stringify([...document.querySelectorAll('svg')].map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; }))",
            ["returnByValue"] = true,
        }))["result"]!["value"]!;
        var svg = JsonNode.Parse(sizes.GetValue<string>())!.AsArray().Select(a => (a![0]!.GetValue<double>(), a[1]!.GetValue<double>())).ToList();
        string png = (await cdp.Call("Page.captureScreenshot", new JsonObject { ["format"] = "png" }))["data"]!.GetValue<string>();

        var errors = new List<string>();
        var requests = new List<string>();
        foreach (JsonObject e in cdp.Events)
        {
            string method = (string)e["method"]!;
            JsonNode p = e["params"]!;
            if (method == "Runtime.consoleAPICalled" && (string?)p["type"] is "error" or "assert") errors.Add("console: " + p["args"]!.ToJsonString());
            else if (method == "Runtime.exceptionThrown") errors.Add("exception: " + p["exceptionDetails"]!.ToJsonString());
            else if (method == "Log.entryAdded" && (string?)p["entry"]!["level"] == "error") errors.Add("log: " + (string?)p["entry"]!["text"]);
            else if (method == "Network.requestWillBeSent" && (string?)p["request"]!["url"] is { } u && u != url) requests.Add(u);
        }
        return new PageLoad(Convert.FromBase64String(png), svg, errors, requests);
    }

    /// <summary>One DevTools websocket: numbered calls, every event kept.</summary>
    private sealed class DevTools : IDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _calls = new();
        private readonly ConcurrentQueue<JsonObject> _events = new();
        private int _next;
        private Task? _reader;

        public IEnumerable<JsonObject> Events => _events;

        public async Task Connect(Uri uri)
        {
            await _socket.ConnectAsync(uri, CancellationToken.None);
            _reader = Task.Run(Read);
        }

        public async Task<JsonNode> Call(string method, JsonObject? parameters = null)
        {
            int id = Interlocked.Increment(ref _next);
            var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            _calls[id] = done;
            byte[] message = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() }.ToJsonString());
            await _socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            JsonObject reply = await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }

        public async Task WaitFor(string method, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!_events.Any(e => (string?)e["method"] == method))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {method} within {timeout.TotalSeconds} s");
                await Task.Delay(50);
            }
        }

        private async Task Read()
        {
            var buffer = new byte[1 << 16];
            var message = new MemoryStream();
            while (_socket.State == WebSocketState.Open)
            {
                WebSocketReceiveResult r;
                try
                {
                    r = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                }
                catch (WebSocketException)
                {
                    return;
                }
                if (r.MessageType == WebSocketMessageType.Close) return;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var json = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                if (json["id"] is { } id && _calls.TryRemove(id.GetValue<int>(), out var call)) call.SetResult(json);
                else _events.Enqueue(json);
            }
        }

        public void Dispose()
        {
            _socket.Abort();
            _socket.Dispose();
        }
    }
}
