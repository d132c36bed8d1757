/* geodx map pages (the client half of geodx/maps.py).
 *
 * The page is a constant Folium skeleton (the Leaflet map `map_geodx`) plus one JSON
 * blob, <script type="application/json" id="geodx-map-data">. This constant script
 * reads the blob and builds the title, legend, layers, tooltips and layer control.
 * Values from the blob only ever become DOM text (textContent), or HTML-escaped
 * strings where Leaflet takes HTML (layer names, attribution): nothing in it runs.
 */
(function () {
  "use strict";

  var holder = document.getElementById("geodx-map-data");
  var mapDiv = document.querySelector(".folium-map");
  if (!holder || !mapDiv || !window.L) {
    return;
  }
  var data = JSON.parse(holder.textContent);
  var map = window[mapDiv.id];
  var narrow = window.matchMedia("(max-width: 600px)").matches; // phones: boxes folded

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(
      /[&<>"']/g,
      function (c) {
        return "&#" + c.charCodeAt(0) + ";";
      }
    );
  }

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text !== null && text !== undefined) {
      el.textContent = String(text);
    }
    return el;
  }

  // 12345 -> "12 345"; at most 2 decimals; no value -> "–" (as geodx's reports).
  function formatNumber(value) {
    if (typeof value !== "number" || !isFinite(value)) {
      return "\u2013";
    }
    var text = Number.isInteger(value) ? String(Math.abs(value)) : Math.abs(value).toFixed(2);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, " ");
    return (value < 0 ? "-" : "") + parts.join(".");
  }

  function cellText(column, value) {
    switch (column.kind) {
      case "number":
        return formatNumber(value);
      case "pct":
        return formatNumber(value) + " %";
      case "flag":
        return value === true ? column.yes : value === false ? column.no : "\u2013";
      default:
        return value === null || value === undefined ? "" : String(value);
    }
  }

  function tipTable(tip, i) {
    var table = node("table", "geodx-tip");
    tip.columns.forEach(function (column, k) {
      var tr = document.createElement("tr");
      tr.appendChild(node("th", null, column.label));
      tr.appendChild(node("td", null, cellText(column, tip.values[k][i])));
      table.appendChild(tr);
    });
    return table;
  }

  // One overlay: spec.shapes[i] drawn with spec.style, spec.fill[i], spec.tip row i.
  function geoLayer(spec, shapes) {
    var features = [];
    shapes.forEach(function (geometry, i) {
      if (geometry) {
        features.push({ type: "Feature", geometry: geometry, properties: { i: i } });
      }
    });
    return L.geoJSON(features, {
      style: function (feature) {
        var style = Object.assign({}, spec.style);
        if (spec.fill) {
          style.fillColor = spec.fill[feature.properties.i];
          style.className = "geodx-fill"; // dimmed while operators' layers are shown
        }
        return style;
      },
      onEachFeature: function (feature, layer) {
        var code = spec.link && spec.tip.values[spec.link.codes][feature.properties.i];
        if (code !== null && code !== undefined && code !== "") {
          // Relative, and the code URL-encoded into one path segment: the link stays on
          // this service, under whatever path prefix the page itself was served from.
          var link = spec.link.prefix + encodeURIComponent(String(code)) + spec.link.suffix;
          layer.on("click", function () {
            window.location.assign(link);
          });
        }
        if (spec.tip) {
          layer.bindTooltip(
            function () {
              return tipTable(spec.tip, feature.properties.i);
            },
            { sticky: true }
          );
        }
      },
    });
  }

  var outlines = []; // unfilled overlays (boundaries) stay on top of what loads later

  function keepOutlinesOnTop() {
    outlines.forEach(function (layer) {
      if (map.hasLayer(layer)) {
        layer.bringToFront();
      }
    });
  }

  // An overlay fetched from spec.url the first time it is turned on.
  function lazyLayer(spec) {
    var group = L.layerGroup();
    var state = "idle";
    group.on("add", function () {
      if (state !== "idle") {
        return;
      }
      state = "loading";
      fetch(spec.url, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (layer) {
          state = "loaded";
          group.addLayer(geoLayer(layer, layer.shapes));
          keepOutlinesOnTop();
        })
        .catch(function (error) {
          state = "idle";
          console.warn("geodx: could not load " + spec.url + ": " + error.message);
        });
    });
    return group;
  }

  // An overlay drawn from per-tile JSON (spec.tiles, a relative {z}/{x}/{y} template;
  // each tile an overlay blob with the keys of its features). A feature met by several
  // tiles is drawn once, from one of them, and handed to another when that tile goes.
  function tiledLayer(spec) {
    var group = L.layerGroup();
    var grid = L.gridLayer({ tileSize: 256 });
    var loaded = {}; // tile -> its blob
    var holders = {}; // feature key -> {tile: row}
    var drawn = {}; // feature key -> {layer, tile}
    function tileKey(coords) {
      return coords.x + ":" + coords.y + ":" + coords.z;
    }
    function draw(key, tile) {
      var blob = loaded[tile];
      var row = holders[key][tile];
      var one = [];
      one[row] = blob.shapes[row]; // sparse: geoLayer visits this row only
      var layer = geoLayer(Object.assign({}, spec, { fill: blob.fill, tip: blob.tip }), one);
      group.addLayer(layer);
      drawn[key] = { layer: layer, tile: tile };
    }
    grid.createTile = function (coords, done) {
      var div = document.createElement("div");
      var tile = tileKey(coords);
      var url = spec.tiles.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
      loaded[tile] = null; // requested
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (blob) {
          if (loaded[tile] !== null) {
            return; // the tile went meanwhile
          }
          loaded[tile] = blob;
          blob.keys.forEach(function (key, row) {
            (holders[key] = holders[key] || {})[tile] = row;
            if (!drawn[key] && blob.shapes[row]) {
              draw(key, tile);
            }
          });
          keepOutlinesOnTop();
          done(null, div);
        })
        .catch(function (error) {
          console.warn("geodx: could not load " + url + ": " + error.message);
          done(error, div);
        });
      return div;
    };
    grid.on("tileunload", function (event) {
      var tile = tileKey(event.coords);
      var blob = loaded[tile];
      delete loaded[tile];
      (blob ? blob.keys : []).forEach(function (key) {
        delete holders[key][tile];
        if (drawn[key] && drawn[key].tile === tile) {
          group.removeLayer(drawn[key].layer);
          delete drawn[key];
          var other = Object.keys(holders[key])[0];
          if (other !== undefined) {
            draw(key, other);
          }
        }
        if (!Object.keys(holders[key]).length) {
          delete holders[key];
        }
      });
    });
    group.addLayer(grid);
    return group;
  }

  function box(position, build, className) {
    var control = L.control({ position: position });
    control.onAdd = function () {
      var div = node("div", "geodx-box" + (className ? " " + className : ""));
      build(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
  }

  var foldedBoxes = [];

  // A box that folds to its heading; on a phone one is open at a time (they overlap).
  function folded(summary, className) {
    var details = node("details", className);
    details.open = !narrow;
    details.appendChild(node("summary", null, summary));
    foldedBoxes.push(details);
    details.addEventListener("toggle", function () {
      if (narrow && details.open) {
        foldedBoxes.forEach(function (other) {
          other.open = other === details;
        });
      }
    });
    return details;
  }

  function title(div) {
    div.appendChild(node("div", "geodx-title", data.title));
    div.appendChild(node("div", "geodx-subtitle", data.subtitle));
    if (data.synthetic) {
      div.appendChild(node("div", "geodx-synthetic", data.synthetic));
    }
    if (data.home) {
      var home = node("a", "geodx-home", "\u2190 B\u1ea3n \u0111\u1ed3 t\u1ec9nh / region map");
      home.href = data.home; // relative, built by the server
      div.appendChild(home);
    }
    if (data.overlays[0] && data.overlays[0].link) {
      div.appendChild(node("div", "geodx-hint", "Nh\u1ea5n v\u00e0o x\u00e3 \u0111\u1ec3 xem s\u1ed1 li\u1ec7u / click a commune for its figures"));
    }
  }

  // --- what the operators filed: fetched when switched on ---------------------------
  function propertiesTable(properties) {
    var table = node("table", "geodx-tip");
    Object.keys(properties || {})
      .slice(0, 10)
      .forEach(function (key) {
        var value = properties[key];
        if (value === null || typeof value === "object") {
          return;
        }
        var tr = document.createElement("tr");
        tr.appendChild(node("th", null, key));
        tr.appendChild(node("td", null, typeof value === "number" ? formatNumber(value) : String(value)));
        table.appendChild(tr);
      });
    return table;
  }

  // Measured tiles: the fill of their speed class; grey when too few tests.
  function speedStyle(legend, properties, style) {
    if (!legend || !legend.ramp || !properties) {
      return style;
    }
    var colour = legend.fallback;
    if (properties["class"] !== "too_few_tests") {
      legend.ramp.forEach(function (step) {
        if (properties.download_mbps >= step[0]) {
          colour = step[1];
        }
      });
    }
    return Object.assign({}, style, { color: colour, fillColor: colour, fillOpacity: 0.6, weight: 0.5 });
  }

  function vectorLayer(spec) {
    var group = L.layerGroup();
    var state = "idle";
    var style = { color: spec.colour, weight: 2.5, opacity: 0.9, fillColor: spec.colour, fillOpacity: 0.2 };
    group.on("add", function () {
      if (state !== "idle") {
        return;
      }
      state = "loading";
      fetch(spec.url, { headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (doc) {
          state = "loaded";
          group.addLayer(
            L.geoJSON(doc, {
              style: function (feature) {
                return speedStyle(spec.legend, feature.properties, style);
              },
              pointToLayer: function (feature, latlng) {
                return L.circleMarker(latlng, Object.assign({}, style, { radius: 4, fillOpacity: 0.85 }));
              },
              onEachFeature: function (feature, layer) {
                layer.bindTooltip(function () {
                  return propertiesTable(feature.properties);
                });
              },
            })
          );
          keepOutlinesOnTop();
        })
        .catch(function (error) {
          state = "idle";
          console.warn("geodx: could not load " + spec.url + ": " + error.message);
        });
    });
    return group;
  }

  function operatorLayer(spec) {
    if (spec.type === "image") {
      return L.imageOverlay(spec.url, spec.bounds, { opacity: 0.7, className: "geodx-image" });
    }
    return vectorLayer(spec);
  }

  function legendRows(div, legend) {
    if (legend.title) {
      div.appendChild(node("div", null, legend.title));
    }
    (legend.classes || []).forEach(function (cls) {
      var row = node("div", "geodx-class");
      var swatch = node("i");
      swatch.style.background = cls[1];
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(cls[0]));
      div.appendChild(row);
    });
    if (legend.note) {
      div.appendChild(node("div", "geodx-note", legend.note));
    }
  }

  var shown = 0; // operators' layers switched on

  function layerSwitch(spec) {
    var wrap = node("div", "geodx-op-layer");
    var label = node("label");
    var input = document.createElement("input");
    input.type = "checkbox";
    label.appendChild(input);
    label.appendChild(document.createTextNode(" " + spec.name));
    wrap.appendChild(label);
    var legend = node("div", "geodx-op-legend");
    legend.hidden = true;
    if (spec.legend) {
      legendRows(legend, spec.legend);
    }
    wrap.appendChild(legend);
    var layer = operatorLayer(spec);
    input.addEventListener("change", function () {
      if (input.checked) {
        layer.addTo(map);
      } else {
        map.removeLayer(layer);
      }
      shown += input.checked ? 1 : -1;
      mapDiv.classList.toggle("geodx-dim", shown > 0);
      legend.hidden = !input.checked || !spec.legend;
    });
    return wrap;
  }

  function operatorBox(div) {
    var details = folded("L\u1edbp c\u1ee7a nh\u00e0 m\u1ea1ng / operators' layers", "geodx-ops");
    details.open = details.open && !data.figures; // a commune page: its figures first
    data.operator_layers.forEach(function (group) {
      var head = node("div", "geodx-op-name");
      var swatch = node("i");
      swatch.style.background = group.colour;
      head.appendChild(swatch);
      head.appendChild(document.createTextNode(group.operator));
      details.appendChild(head);
      group.layers.forEach(function (spec) {
        details.appendChild(layerSwitch(spec));
      });
    });
    div.appendChild(details);
  }

  // --- a commune's figures and plan ---------------------------------------------------
  function figureRows(table, title, rows) {
    var head = document.createElement("tr");
    var th = node("th", "geodx-section", title);
    th.colSpan = 2;
    head.appendChild(th);
    table.appendChild(head);
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.appendChild(node("th", null, row.label));
      tr.appendChild(node("td", null, cellText(row, row.value)));
      table.appendChild(tr);
    });
  }

  var SVG = "http://www.w3.org/2000/svg";

  function svgNode(tag, attributes, text) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) {
      el.setAttribute(name, String(attributes[name]));
    });
    if (text !== undefined) {
      el.textContent = String(text);
    }
    return el;
  }

  // The marginal-cost curve: households connected (x) against extension metres (y).
  function curveChart(plan) {
    var w = 280, h = 160, left = 44, right = 8, top = 8, bottom = 30;
    var points = plan.curve;
    var maxX = Math.max.apply(null, points.map(function (p) { return p[0]; }).concat([plan.gap || 0, 1]));
    var maxY = Math.max.apply(null, points.map(function (p) { return p[1]; }).concat([1]));
    function x(v) { return left + (v / maxX) * (w - left - right); }
    function y(v) { return h - bottom - (v / maxY) * (h - top - bottom); }
    var svg = svgNode("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, class: "geodx-chart", role: "img" });
    svg.appendChild(svgNode("title", {}, plan.y_label + " / " + plan.x_label));
    svg.appendChild(svgNode("path", { d: "M" + left + " " + top + "V" + (h - bottom) + "H" + (w - right), class: "geodx-axis" }));
    if (plan.gap) {
      svg.appendChild(svgNode("path", { d: "M" + x(plan.gap) + " " + top + "V" + (h - bottom), class: "geodx-gap" }));
      svg.appendChild(svgNode("text", { x: x(plan.gap) - 2, y: top + 10, "text-anchor": "end", class: "geodx-gap-label" }, "gap " + formatNumber(plan.gap)));
    }
    var line = points.map(function (p, i) { return (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); }).join("");
    svg.appendChild(svgNode("path", { d: line, class: "geodx-curve" }));
    svg.appendChild(svgNode("text", { x: left - 3, y: top + 8, "text-anchor": "end" }, formatNumber(Math.round(maxY))));
    svg.appendChild(svgNode("text", { x: left - 3, y: h - bottom, "text-anchor": "end" }, "0"));
    svg.appendChild(svgNode("text", { x: w - right, y: h - bottom + 12, "text-anchor": "end" }, formatNumber(Math.round(maxX))));
    svg.appendChild(svgNode("text", { x: left, y: h - 4 }, plan.x_label));
    svg.appendChild(svgNode("text", { x: 2, y: top + 22, class: "geodx-y-label" }, "m"));
    return svg;
  }

  function figuresBox(div) {
    var spec = data.figures;
    var details = node("details", "geodx-panel");
    details.open = true;
    details.appendChild(node("summary", null, spec.heading));
    if (spec.note) {
      details.appendChild(node("div", "geodx-note", spec.note));
    }
    var table = node("table", "geodx-figures");
    spec.sections.forEach(function (section) {
      figureRows(table, section.title, section.rows);
    });
    if (data.plan) {
      figureRows(table, data.plan.title, data.plan.rows);
    }
    details.appendChild(table);
    if (data.plan) {
      if (data.plan.curve.length > 1) {
        details.appendChild(curveChart(data.plan));
        details.appendChild(node("div", "geodx-note", data.plan.y_label + " \u2191"));
      }
    }
    div.appendChild(details);
  }

  function legend(box) {
    var spec = data.legend;
    var div = folded(spec.heading, "geodx-legend");
    box.appendChild(div);
    div.appendChild(node("div", null, spec.pivot));
    if (spec.note) {
      div.appendChild(node("div", "geodx-note", spec.note));
    }
    spec.classes.forEach(function (cls) {
      var row = node("div", "geodx-class");
      var swatch = node("i");
      swatch.style.background = cls[1];
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(cls[0] + " (" + cls[2] + ")"));
      div.appendChild(row);
    });
    div.appendChild(node("div", "geodx-counted", spec.counted));
  }

  document.title = data.title || "geodx";
  if (data.bounds) {
    map.fitBounds(data.bounds);
  }
  var control = L.control.layers(null, null, { collapsed: narrow });
  if (data.tiles) {
    var tiles = L.tileLayer(data.tiles.url, {
      attribution: escapeHtml(data.tiles.attribution),
    });
    tiles.addTo(map);
    control.addBaseLayer(tiles, escapeHtml(data.tiles.name));
  }
  data.overlays.forEach(function (spec) {
    var layer = spec.tiles
      ? tiledLayer(spec)
      : spec.url
        ? lazyLayer(spec)
        : geoLayer(spec, data.shapes[spec.shapes]);
    if (spec.style && spec.style.fill === false) {
      outlines.push(layer);
    }
    if (spec.show) {
      layer.addTo(map);
    }
    control.addOverlay(layer, escapeHtml(spec.name));
  });
  if (data.figures) {
    // Beside the map on a wide screen, below it on a phone (maps.css): never over it.
    document.body.classList.add("geodx-with-panel");
    var panel = node("div", "geodx-box geodx-side");
    figuresBox(panel);
    document.body.appendChild(panel);
    map.invalidateSize();
    if (data.bounds) {
      map.fitBounds(data.bounds);
    }
  }
  box("topleft", title);
  box("bottomright", legend);
  control.addTo(map);
  if (data.operator_layers && data.operator_layers.length) {
    box("topleft", operatorBox, "geodx-ops-box");
  }
})();
