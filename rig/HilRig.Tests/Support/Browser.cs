using Microsoft.Playwright;

namespace HilRig.Tests.Support;

/// <summary>
/// Debian's chromium driven by Playwright for tests that look at pages as a person does. Missing chromium: the test is
/// skipped by hand and fails under CI=true (<see cref="ExternalTool.Require"/>). Dispose closes the browser.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser chromium)
    {
        _playwright = playwright;
        Chromium = chromium;
    }

    public IBrowser Chromium { get; }

    public static async Task<Browser> LaunchAsync()
    {
        var chromium = ExternalTool.Require("chromium");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                // no sandbox as root in CI; nothing that phones home
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            return new Browser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A fresh page of a desktop-sized window.</summary>
    public Task<IPage> NewPageAsync(int width = 1280, int height = 1000) =>
        Chromium.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });

    /// <summary>A full-page screenshot in the test's artifacts folder, attached to the test result.</summary>
    public static async Task ScreenshotAsync(IPage page, string name, string description)
    {
        ArgumentNullException.ThrowIfNull(page);
        var dir = Path.Combine(TestContext.CurrentContext.WorkDirectory, "artifacts");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.AddTestAttachment(path, description);
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
