using System.Net;
using Microsoft.AspNetCore.Http;

namespace HilRig.Dashboard;

/// <summary>
/// The rules every page hilrig serves keeps (the dashboard, the station page): GET and HEAD only, a loopback Host
/// unless remote is allowed (so a web page elsewhere cannot read through a rebound DNS name), no framing, sniffing,
/// caching or referrer. Each app gives its own content security policy and the words it refuses a remote Host with.
/// </summary>
public static class PageGuard
{
    public static Task Apply(HttpContext context, RequestDelegate next, bool allowRemote, string contentSecurityPolicy, string refusal)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = contentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            headers.Allow = "GET, HEAD";
            return Task.CompletedTask;
        }
        if (!allowRemote && !IsLoopbackName(context.Request.Host.Host))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return context.Response.WriteAsync(refusal);
        }
        // the GET routes answer HEAD; Kestrel sends their headers without the body
        if (HttpMethods.IsHead(method)) context.Request.Method = HttpMethods.Get;
        return next(context);
    }

    /// <summary>localhost, or an IPv4/IPv6 loopback address (bracketed or not).</summary>
    public static bool IsLoopbackName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
